"""Files are written whole or not at all: a temporary file in the same folder, flushed, then renamed.

A crash or Ctrl-C part-way leaves the previous file (or none), never half of a new one. The result
has ordinary permissions (0644): run folders, reports, BOMs and labelled rows are meant to be read
by others, and `mkstemp`'s private 0600 would surprise them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FILE_MODE = 0o644


def write_chunks_atomically(path: Path, chunks: Iterable[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
            os.fchmod(file.fileno(), FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_bytes_atomically(path: Path, data: bytes) -> None:
    write_chunks_atomically(path, (data,))


def write_text_atomically(path: Path, text: str) -> None:
    write_chunks_atomically(path, (text.encode("utf-8"),))


def write_json_atomically(path: Path, data: Any, *, indent: int | None = 2) -> None:
    write_text_atomically(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def write_lines_atomically(path: Path, lines: Iterable[str]) -> None:
    """Each item is one line (JSONL rows, say); the newline is added here."""
    write_chunks_atomically(path, ((line + "\n").encode("utf-8") for line in lines))
