"""A generated token's log-probability and its likeliest alternatives, from llama.cpp's logits row.

What is computed: the log-softmax, in float64, of the logits the sampler is about to draw from, after the
request's grammar (a JSON schema) has masked the tokens it rules out, and before temperature, top-k, top-p
and min-p: the model's own distribution at temperature 1 over what the grammar allows, as OpenAI reports.

Only called for requests that ask for log-probabilities: the softmax over the vocabulary is the cost,
and a request that does not ask pays nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from uptake.engines.base import TokenLogprob, TopLogprob
from uptake.engines.llamacpp.native import PieceDecoder
from uptake.engines.llamacpp.sampling import SamplerChain
from uptake.engines.llamacpp.sampling import log_softmax as log_softmax
from uptake.engines.llamacpp.sampling import logits_row as logits_row


def token_logprob(
    logprobs: np.ndarray[Any, np.dtype[np.float64]], token: int, top: int, pieces: PieceDecoder
) -> TokenLogprob:
    """The record for `token` given the log-probabilities of every token, with the `top` likeliest
    alternatives in descending order (ties by token id); tokens a grammar ruled out (-inf) are never
    alternatives, so there may be fewer than `top`."""
    alternatives: tuple[TopLogprob, ...] = ()
    if top > 0:
        count = min(top, logprobs.shape[0])
        candidates = np.argpartition(-logprobs, count - 1)[:count]
        ranked = sorted(candidates.tolist(), key=lambda candidate: (-logprobs[candidate], candidate))
        alternatives = tuple(
            _top(candidate, float(logprobs[candidate]), pieces) for candidate in ranked if logprobs[candidate] > -np.inf
        )
    chosen = pieces.piece(token)
    return TokenLogprob(token, chosen.decode("utf-8", errors="replace"), chosen, float(logprobs[token]), alternatives)


def _top(token: int, logprob: float, pieces: PieceDecoder) -> TopLogprob:
    text = pieces.piece(token)
    return TopLogprob(token, text.decode("utf-8", errors="replace"), text, logprob)


def read_logprobs(
    context: Any, output_index: int, vocabulary_size: int, sampler: SamplerChain | None = None
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Log-probabilities over the vocabulary at `output_index` of the last decode of `context`, after the
    grammar of `sampler` (if it has one) has ruled tokens out (-inf), before anything else it does."""

    logits = logits_row(context, output_index, vocabulary_size)
    return log_softmax(logits) if sampler is None else sampler.grammar_logprobs(logits)
