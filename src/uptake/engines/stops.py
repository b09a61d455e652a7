"""Stop strings, matched on the text as it streams: every engine cuts its output the same way."""

from __future__ import annotations

from collections.abc import Sequence


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
        hold = 0
        for stop in self.stops:
            for length in range(min(len(stop) - 1, len(self.pending)), 0, -1):
                if self.pending.endswith(stop[:length]):
                    hold = max(hold, length)
                    break
        cut = len(self.pending) - hold
        emitted, self.pending = self.pending[:cut], self.pending[cut:]
        return emitted, False

    def flush(self) -> str:
        emitted, self.pending = self.pending, ""
        return emitted
