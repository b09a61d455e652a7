"""An append-only JSONL journal of finished work, one row per unit (an audit's generation, a task's row).

Rows are appended and forced to disk (flush + fsync), so a crash loses at most the rows in flight. A crash
in the middle of a write leaves a last line without its newline; reading drops that line, and `repair`
rewrites the file without it before new rows are appended. Each row is known by a key; when a key occurs
twice (a row journaled again after a crash), the first occurrence counts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uptake.atomic import write_bytes_atomically
from uptake.errors import UptakeError

RowKey = Callable[[Mapping[str, Any]], str]


class JournalError(UptakeError):
    """A journal damaged somewhere other than its last line."""


@dataclass(frozen=True)
class JournalContents:
    rows: list[dict[str, Any]]
    valid_bytes: int  # length of the file up to the end of its last complete row
    dropped_tail: bool  # a partly written last line was found and left out


def read_journal(path: Path, key: RowKey, required: frozenset[str], what: str = "results row") -> JournalContents:
    """The complete rows, first occurrence of each key kept, in file order. `required`: the fields every row
    has, checked so that a file that is not this journal is refused rather than misread."""
    if not path.exists():
        return JournalContents([], 0, False)
    data = path.read_bytes()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    offset = 0
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        if not line.endswith(b"\n"):
            return JournalContents(rows, offset, True)  # the write a crash interrupted
        row = _parse(path, number, line, required, what)
        offset += len(line)
        if row is None:
            continue
        row_key = key(row)
        if row_key not in seen:
            seen.add(row_key)
            rows.append(row)
    return JournalContents(rows, offset, False)


def _parse(path: Path, number: int, line: bytes, required: frozenset[str], what: str) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise JournalError(
            f"{path} line {number} is not a JSON row ({error}); only a run's last line can be cut short, "
            "so this file was changed by hand. Restore it or start a new run."
        ) from error
    if not isinstance(row, dict) or not required <= row.keys():
        raise JournalError(f"{path} line {number} is not a {what} (needs {', '.join(sorted(required))}).")
    return row


def repair(path: Path, contents: JournalContents) -> None:
    """Drop a partly written last line, so appending starts on a fresh line."""
    if not contents.dropped_tail:
        return
    with open(path, "rb") as source:
        kept = source.read(contents.valid_bytes)
    write_bytes_atomically(path, kept)


def append_rows(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append rows with one write, then force them to disk."""
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if not text:
        return
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
