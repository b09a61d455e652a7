"""Stop strings never leak to the caller, however the text is split into pieces."""

from __future__ import annotations

import pytest

from uptake.engines.stops import StopMatcher


@pytest.mark.parametrize(
    ("pieces", "stops", "expected"),
    [
        (["Hello ", "wor", "ld"], ["world"], "Hello "),
        (["ab", "c"], ["x"], "abc"),
        (["a<", "/s", "> after"], ["</s>"], "a"),
        (["a<", "b"], ["</s>"], "a<b"),
    ],
)
def test_stop_matcher_never_leaks_a_stop_string(pieces: list[str], stops: list[str], expected: str) -> None:
    matcher = StopMatcher(stops)
    out = ""
    for piece in pieces:
        text, hit = matcher.feed(piece)
        out += text
        if hit:
            break
    else:
        out += matcher.flush()
    assert out == expected
