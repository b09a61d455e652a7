"""Engine log-probabilities in OpenAI's two wire shapes: chat's `logprobs.content` and the legacy
completions' parallel lists."""

from __future__ import annotations

from collections.abc import Sequence

from uptake.engines.base import TokenLogprob
from uptake.serve.openai_schema import ChoiceLogprobs, CompletionLogprobs, TokenLogprobOut, TopLogprobOut


def chat_logprobs(records: Sequence[TokenLogprob]) -> ChoiceLogprobs:
    return ChoiceLogprobs(
        content=[
            TokenLogprobOut(
                token=record.token,
                logprob=record.logprob,
                bytes=list(record.token_bytes),
                top_logprobs=[
                    TopLogprobOut(token=top.token, logprob=top.logprob, bytes=list(top.token_bytes))
                    for top in record.top
                ],
            )
            for record in records
        ]
    )


def completion_logprobs(records: Sequence[TokenLogprob], text_offset: int = 0) -> CompletionLogprobs:
    """`text_offset`: where the first token's text starts in the choice's text (for a streamed choice, the
    length of what was already sent). Alternatives whose texts coincide keep the likeliest, as a dict must."""
    offsets = []
    for record in records:
        offsets.append(text_offset)
        text_offset += len(record.token)
    tops: list[dict[str, float]] = []
    for record in records:
        alternatives: dict[str, float] = {}
        for top in record.top:
            alternatives.setdefault(top.token, top.logprob)
        tops.append(alternatives)
    return CompletionLogprobs(
        tokens=[record.token for record in records],
        token_logprobs=[record.logprob for record in records],
        top_logprobs=tops,
        text_offset=offsets,
    )
