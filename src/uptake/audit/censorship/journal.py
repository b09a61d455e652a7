"""results.jsonl: the run's append-only journal of labelled generations.

Rows are appended a chunk at a time and forced to disk (flush + fsync), so a crash loses at most
the chunk in flight. A crash in the middle of a write leaves a last line without its newline;
reading drops that line, and `repair` rewrites the file without it before new rows are appended.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uptake.atomic import write_bytes_atomically
from uptake.audit.censorship.plan import generation_key
from uptake.errors import UptakeError


class JournalError(UptakeError):
    """A results file damaged somewhere other than its last line."""


@dataclass(frozen=True)
class JournalContents:
    rows: list[dict[str, Any]]
    valid_bytes: int  # length of the file up to the end of its last complete row
    dropped_tail: bool  # a partly written last line was found and left out


def row_key(row: Mapping[str, Any]) -> str:
    return generation_key(str(row["probe_id"]), str(row["lang"]), int(row["sample"]))


def read_journal(path: Path) -> JournalContents:
    """The complete rows, first occurrence of each generation kept, in file order."""
    if not path.exists():
        return JournalContents([], 0, False)
    data = path.read_bytes()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    offset = 0
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        if not line.endswith(b"\n"):
            return JournalContents(rows, offset, True)  # the write a crash interrupted
        row = _parse(path, number, line)
        offset += len(line)
        if row is None:
            continue
        key = row_key(row)
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return JournalContents(rows, offset, False)


def _parse(path: Path, number: int, line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise JournalError(
            f"{path} line {number} is not a JSON row ({error}); only a run's last line can be cut short, "
            "so this file was changed by hand. Restore it or start a new run."
        ) from error
    if not isinstance(row, dict) or not {"probe_id", "lang", "sample"} <= row.keys():
        raise JournalError(f"{path} line {number} is not a results row (needs probe_id, lang, sample).")
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
