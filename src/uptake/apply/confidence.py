"""How sure the model was of a label: the probability it gave the tokens that spell the chosen value.

For an enum or boolean field, the grammar leaves the model a choice among the allowed values only; the
engine reports each generated token's log-probability after the grammar has ruled out every other token.
The product of the probabilities of the tokens that overlap the value's text (between its quotes) is
therefore the model's probability of that value given what it wrote before, and a row below the task's
threshold goes to review. No peer derives abstention from the model's own distribution this way; it is
written here because it needs the exact byte offsets of the tokens within the generated JSON.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence

from uptake.executors.base import TokenProbability


def value_span(text: str, field: str) -> tuple[int, int] | None:
    """Byte offsets in `text` (UTF-8) of the value of top-level `field`, without its quotes; None when absent."""
    encoded_key = json.dumps(field, ensure_ascii=False)
    match = re.search(re.escape(encoded_key) + r'\s*:\s*', text)
    if match is None:
        return None
    start = match.end()
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return None
    if text[start] == '"':
        start, end = start + 1, end - 1
    return len(text[:start].encode("utf-8")), len(text[:end].encode("utf-8"))


def field_confidence(text: str, tokens: Sequence[TokenProbability], field: str) -> float | None:
    """The probability of the value the model chose for `field`; None when the tokens do not cover it."""
    span = value_span(text, field)
    if span is None or not tokens:
        return None
    start, end = span
    offset = 0
    total = 0.0
    covered = False
    for token in tokens:
        token_end = offset + len(token.data)
        if token_end > start and offset < max(end, start + 1):
            total += token.logprob
            covered = True
        offset = token_end
        if offset >= end:
            break
    if not covered or offset < end:
        return None
    return math.exp(total)


def confidences(text: str, tokens: Sequence[TokenProbability], fields: Sequence[str]) -> dict[str, float | None]:
    return {field: field_confidence(text, tokens, field) for field in fields}
