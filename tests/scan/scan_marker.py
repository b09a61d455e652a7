"""A harmless stand-in for a payload: unpickling a MarkerCall writes a marker file, nothing else.

If any scan ever unpickled a fixture, the marker file would appear; the tests check that it never does.
"""

from __future__ import annotations

from pathlib import Path


def leave_marker(path: str) -> None:
    Path(path).write_text("unpickled")


class MarkerCall:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return leave_marker, (self.path,)
