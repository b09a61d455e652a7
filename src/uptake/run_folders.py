"""What every kind of run folder shares: a sortable unique id, run.json, summary.json and report.html, one
process at a time per folder, and the progress a run reports."""

from __future__ import annotations

import contextlib
import fcntl
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from uptake.atomic import write_json_atomically
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


class RunProgress(Protocol):
    """What a long run reports as it goes: the total and what was done before, then each step."""

    def start(self, total: int, done: int) -> None: ...

    def advance(self, count: int) -> None: ...


class NoProgress:
    def start(self, total: int, done: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass


@dataclass(frozen=True)
class RunFolder:
    """A run's folder: run.json (its settings, what a resume needs), summary.json and report.html."""

    directory: Path

    @property
    def settings_path(self) -> Path:
        return self.directory / "run.json"

    @property
    def summary_path(self) -> Path:
        return self.directory / "summary.json"

    @property
    def report_path(self) -> Path:
        return self.directory / "report.html"

    def read_run_json(self, kind: str, what: str) -> dict[str, Any]:
        """run.json, refused with one line when it is missing, unreadable or of another kind of run."""
        try:
            data = json.loads(self.settings_path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise UsageError(f"{self.directory} holds no run.json; it is not {what} folder.") from error
        except (OSError, json.JSONDecodeError) as error:
            raise UsageError(f"cannot read {self.settings_path}: {error}.") from error
        if not isinstance(data, dict) or data.get("kind") != kind:
            raise UsageError(f"{self.directory} is not {what}.")
        return data

    def write_run_json(self, data: dict[str, Any]) -> None:
        write_json_atomically(self.settings_path, data)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """One process per run: a second `--resume` of a run in progress would do work twice."""
        return run_lock(self.directory)
