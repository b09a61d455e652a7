"""A task's input rows and gold answers, from CSV, JSONL or Parquet.

A malformed row does not stop a run: it becomes a row with an `error` (its reason), journaled as an error
row, so that the results account for every line of the input. A file that cannot be read at all, or gold
whose ids do not match the input, is refused before any generation.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uptake.apply.spec import Task
from uptake.errors import UsageError
from uptake.extras import require_extra

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclass(frozen=True)
class InputRow:
    id: str
    language: str
    values: dict[str, Any]  # the input fields the prompt uses
    hard: tuple[str, ...] = ()  # tags of hard cases, when the data names them
    error: str | None = None  # why this row cannot be run (it is journaled as an error row)
    extra: dict[str, Any] = field(default_factory=dict)


def file_format(path: Path, declared: str | None) -> str:
    if declared is not None:
        return declared
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"{path}: cannot tell the format from '{path.suffix}'; set input.format (csv, jsonl …).")
    return kind


def read_records(path: Path, kind: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line or row number, the record), or (number, why it is not one) for a malformed record."""
    if not path.is_file():
        raise UsageError(f"{path} does not exist; fix the path in the task file (relative to the task file's folder).")
    if kind == "jsonl":
        yield from _jsonl(path)
    elif kind == "csv":
        yield from _csv(path)
    else:
        yield from _parquet(path)


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                yield number, f"line {number} is not JSON ({error})"
                continue
            yield number, record if isinstance(record, dict) else f"line {number} is not a JSON object"


def _csv(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            for record in reader:
                number = reader.line_num
                if None in record:  # more cells than the header has names
                    yield number, f"line {number} has more cells than the header"
                else:
                    yield number, {key: value for key, value in record.items() if value is not None}
    except UnicodeDecodeError as error:
        raise UsageError(f"{path} is not UTF-8 text ({error.reason}); save it as UTF-8.") from error
    except csv.Error as error:
        raise UsageError(f"{path} is not a readable CSV file ({error}).") from error


def _parquet(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    require_extra("parquet", "reading Parquet task input")
    import pyarrow.parquet as parquet

    try:
        table = parquet.read_table(path)
    except Exception as error:  # pyarrow raises its own ArrowInvalid / OSError variants
        raise UsageError(f"{path} is not a readable Parquet file ({error}).") from error
    yield from enumerate(table.to_pylist(), start=1)


def read_input(task: Task, path: Path | None = None) -> list[InputRow]:
    """Every input row, malformed ones included as error rows; ids must be unique among the good ones."""
    spec = task.spec.input
    source = path or task.input_path
    rows: list[InputRow] = []
    seen: set[str] = set()
    default_language = task.spec.languages[0]
    for number, record in read_records(source, file_format(source, spec.format if path is None else None)):
        if isinstance(record, str):
            rows.append(InputRow(f"line-{number}", default_language, {}, error=record))
            continue
        raw_id = record.get(spec.id)
        row_id = str(raw_id) if raw_id not in (None, "") else f"line-{number}"
        language = str(record.get(spec.language, default_language)) if spec.language else default_language
        values = {name: record.get(name) for name in spec.fields}
        hard = tuple(str(tag) for tag in record.get("hard") or ()) if isinstance(record.get("hard"), list) else ()
        error = _row_problem(record, raw_id, row_id, language, values, task, seen, number)
        if error is None:
            seen.add(row_id)
        else:
            row_id = row_id if row_id not in seen else f"{row_id}@line-{number}"
        rows.append(InputRow(row_id, language, values, hard, error))
    if not rows:
        raise UsageError(f"{source} holds no rows.")
    return rows


def _row_problem(
    record: dict[str, Any], raw_id: Any, row_id: str, language: str, values: dict[str, Any], task: Task,
    seen: set[str], number: int,
) -> str | None:
    spec = task.spec.input
    if raw_id in (None, ""):
        return f"line {number} has no '{spec.id}' (the id column)"
    if row_id in seen:
        return f"id '{row_id}' is used again on line {number}"
    if language not in task.spec.languages:
        return f"language '{language}' is not one of the task's languages ({', '.join(task.spec.languages)})"
    missing = [name for name, value in values.items() if value is None or str(value).strip() == ""]
    if missing:
        return f"no value for {', '.join(missing)}"
    return None


def read_gold(task: Task) -> dict[str, dict[str, Any]]:
    """Gold answers by id; a malformed gold file is a usage error (the scores would be wrong)."""
    if task.spec.gold is None or task.gold_path is None:
        return {}
    path = task.gold_path
    kind = file_format(path, None)
    gold: dict[str, dict[str, Any]] = {}
    for number, record in read_records(path, kind):
        if isinstance(record, str):
            raise UsageError(f"{path}: {record}; fix the gold file.")
        raw_id = record.get(task.spec.gold.id)
        if raw_id in (None, ""):
            raise UsageError(f"{path} line {number} has no '{task.spec.gold.id}' (the gold id column).")
        if str(raw_id) in gold:
            raise UsageError(f"{path} line {number}: id '{raw_id}' has two gold answers.")
        gold[str(raw_id)] = {name: record.get(name) for name in task.fields}
    return gold


def check_gold_matches(rows: list[InputRow], gold: dict[str, dict[str, Any]], task: Task) -> None:
    """Refuse, before any generation, gold whose ids are not the input's ids."""
    if not gold:
        return
    ids = {row.id for row in rows if row.error is None}
    without_gold = sorted(ids - gold.keys())
    without_input = sorted(gold.keys() - ids)
    if without_gold or without_input:
        parts = []
        if without_gold:
            parts.append(f"{len(without_gold)} input rows have no gold (first: {', '.join(without_gold[:3])})")
        if without_input:
            parts.append(f"{len(without_input)} gold rows match no input row (first: {', '.join(without_input[:3])})")
        raise UsageError(
            f"task {task.name}: gold ids do not match the input ids: {'; '.join(parts)}. Fix the files, or run with "
            "--input for a production run without gold."
        )
