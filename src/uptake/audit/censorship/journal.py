"""results.jsonl: the audit run's journal of labelled generations (see uptake/journal.py), one row per
generation, known by its probe, language and sample."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uptake import journal
from uptake.audit.censorship.plan import generation_key
from uptake.journal import JournalContents, JournalError, append_rows, repair

__all__ = ["JournalContents", "JournalError", "append_rows", "read_journal", "repair", "row_key"]

REQUIRED = frozenset({"probe_id", "lang", "sample"})


def row_key(row: Mapping[str, Any]) -> str:
    return generation_key(str(row["probe_id"]), str(row["lang"]), int(row["sample"]))


def read_journal(path: Path) -> JournalContents:
    """The complete rows, first occurrence of each generation kept, in file order."""
    return journal.read_journal(path, row_key, REQUIRED)
