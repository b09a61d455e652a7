"""Printing for the CLI: rich on a terminal, plain JSON for scripts, progress bars on stderr."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

if TYPE_CHECKING:
    from uptake.models.resolve import ResolvedModel

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


class ByteProgress:
    """A rich progress bar of bytes on stderr; silent when stderr is not a terminal or when quiet."""

    def __init__(self, quiet: bool = False) -> None:
        self.enabled = not quiet and err_console.is_terminal
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ByteProgress:
        if self.enabled:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, description: str, total: int | None) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task(description, total=total)

    def advance(self, count: int) -> None:
        if self._progress is not None and self._task is not None and count:
            self._progress.advance(self._task, count)

    def finish(self) -> None:
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[self._task]
            if task.total is None:
                self._progress.update(self._task, total=task.completed)
        self._task = None


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def human_count(count: int) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= scale:
            return f"{count / scale:.2f}{unit}".replace(".00", "")
    return str(count)


def resolve_with_progress(name_or_path: str, quiet: bool) -> ResolvedModel:
    """Resolve a model for a command, showing the download when a catalog model is pulled on first use."""
    from uptake.models.resolve import resolve_model

    def announce(name: str) -> None:
        if not quiet:
            err_console.print(f"{name} is not in the store yet; pulling it.")

    with ByteProgress(quiet=quiet) as progress:
        return resolve_model(name_or_path, progress=progress, on_pull=announce)
