"""The review queue of a task run: a person accepts the model's answer to an abstained row, or corrects it, and
the decision becomes gold.

Decisions live in the run's folder: `reviewed.json` (every decision, the latest per row, with the model's output
and the time) and `gold.reviewed.jsonl` (one gold row per decided id, in the task's gold format: its id column
and the output fields), which a later run can use as its gold file. Both are rewritten whole on each decision
(temp file, then rename), so a crash leaves the previous state, never half a file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from uptake.apply.runner import TaskRunFolder
from uptake.apply.spec import FieldSpec, Task
from uptake.apply.taskfile import load_task
from uptake.atomic import write_json_atomically, write_lines_atomically
from uptake.db import utc_now
from uptake.errors import UptakeError, UsageError

DECISIONS_FILE = "reviewed.json"
GOLD_FILE = "gold.reviewed.jsonl"
Decision = Literal["accepted", "corrected"]
_write_lock = threading.Lock()  # one server process may take two decisions at once


@dataclass(frozen=True)
class ReviewField:
    """An output field as the review form shows it: its kind and, for enums and booleans, the allowed values."""

    name: str
    kind: str
    labels: tuple[str, ...] = ()


def review_rows(folder: TaskRunFolder) -> list[dict[str, Any]]:
    """The rows the run sent to review, by id (the journal's order is the order rows happened to finish in)."""
    path = folder.output_path("review")
    source = path if path.is_file() else folder.journal_path
    if not source.is_file():
        return []
    rows = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a journal's unfinished last line
        if isinstance(row, dict) and row.get("status") == "review":
            rows.append(row)
    return sorted(rows, key=lambda row: str(row.get("id")))


def read_decisions(folder: TaskRunFolder) -> dict[str, dict[str, Any]]:
    path = folder.directory / DECISIONS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}; move it aside to start the review again.") from None
    return data if isinstance(data, dict) else {}


def run_task(folder: TaskRunFolder) -> Task | None:
    """The run's task file, when it is still where the run found it (the form then knows each field's values)."""
    try:
        path = Path(folder.read_settings()["task"]["path"])
        return load_task(path)
    except (UptakeError, KeyError, TypeError, OSError):
        return None


def review_fields(task: Task | None, rows: list[dict[str, Any]]) -> list[ReviewField]:
    if task is not None:
        return [_field(spec) for spec in task.fields.values()]
    names = dict.fromkeys(name for row in rows for name in (row.get("output") or {}))
    return [ReviewField(name, "string") for name in names]


def _field(spec: FieldSpec) -> ReviewField:
    return ReviewField(spec.name, spec.kind, spec.labels)


def parse_value(field: ReviewField, text: str) -> Any:
    """A form's text as the field's value; a value the field cannot take is a usage error that names it."""
    text = text.strip()
    if text == "":
        return None
    if field.kind == "enum" or field.kind == "boolean":
        if field.labels and text not in field.labels:
            raise UsageError(f"'{text}' is not a value of {field.name}; choose one of {', '.join(field.labels)}.")
        return {"true": True, "false": False}.get(text, text) if field.kind == "boolean" else text
    if field.kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise UsageError(f"{field.name} takes a number, not '{text}'.") from None
        return int(number) if number.is_integer() and "." not in text else number
    if field.kind == "array":
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, list):
            raise UsageError(f"{field.name} takes a JSON list such as [\"a\", \"b\"], not '{text}'.")
        return value
    return text


def record_decision(
    folder: TaskRunFolder, row_id: str, decision: Decision, values: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Accept the model's output for `row_id`, or record `values` (form text per field) as its correction."""
    rows = {str(row.get("id")): row for row in review_rows(folder)}
    row = rows.get(row_id)
    if row is None:
        raise UsageError(f"row '{row_id}' is not in this run's review queue.")
    output = dict(row.get("output") or {})
    task = run_task(folder)
    if decision == "accepted":
        gold = output
    else:
        given = values or {}
        gold = {field.name: parse_value(field, given.get(field.name, "")) for field in review_fields(task, [row])}
    entry = {"id": row_id, "decision": decision, "gold": gold, "model_output": output, "at": utc_now()}
    id_column = task.spec.gold.id if task is not None and task.spec.gold is not None else "id"
    with _write_lock:
        decisions = read_decisions(folder)
        decisions[row_id] = entry
        write_json_atomically(folder.directory / DECISIONS_FILE, decisions)
        lines = [json.dumps({id_column: key, **value["gold"]}, ensure_ascii=False)
                 for key, value in sorted(decisions.items())]
        write_lines_atomically(folder.directory / GOLD_FILE, lines)
    return entry
