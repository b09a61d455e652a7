"""Stop strings, matched on the text as it streams: every engine cuts its output the same way."""

from __future__ import annotations

from collections.abc import Sequence


def partial_match_length(text: str, marker: str) -> int:
    """The length of the longest end of `text` that begins `marker` without completing it: text that must
    wait for more output before it is known not to be the marker."""
    for length in range(min(len(marker) - 1, len(text)), 0, -1):
        if text.endswith(marker[:length]):
            return length
    return 0


class StopMatcher:
    """Holds back text that might be the start of a stop string, so a stop never leaks to the caller."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Returns (text safe to emit, whether a stop string was hit)."""
        self.pending += text
        for stop in self.stops:
            index = self.pending.find(stop)
            if index >= 0:
                emitted = self.pending[:index]
                self.pending = ""
                return emitted, True
        hold = max((partial_match_length(self.pending, stop) for stop in self.stops), default=0)
        cut = len(self.pending) - hold
        emitted, self.pending = self.pending[:cut], self.pending[cut:]
        return emitted, False

    def flush(self) -> str:
        emitted, self.pending = self.pending, ""
        return emitted
