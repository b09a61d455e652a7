"""What every kind of run folder shares: a sortable unique id, and one process at a time per folder."""

from __future__ import annotations

import contextlib
import fcntl
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from uptake.errors import UsageError


@contextlib.contextmanager
def run_lock(directory: Path) -> Iterator[None]:
    """Hold the folder's lock file for the duration; refuse at once when another process holds it."""
    with open(directory / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise UsageError(f"run {directory.name} is in progress in another process.") from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_run_id() -> str:
    """Sortable by start time and unique: the UTC date and time, then 24 random bits."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
