"""One input row's result: the model's answer checked against the schema, its label confidences, its status.

Statuses: "ok" (valid, confident: goes to the results), "review" (valid, but a label's confidence is under
the task's threshold: goes to the review queue), "invalid" (not JSON, or JSON the schema rejects: counted,
never dropped), "error" (the row could not be run: a malformed input row, a prompt too long, a server
that kept failing).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import jsonschema

from uptake.apply.confidence import confidences
from uptake.apply.data import InputRow
from uptake.apply.spec import Task
from uptake.executors.base import Completion

Status = Literal["ok", "review", "invalid", "error"]
STATUSES: tuple[Status, ...] = ("ok", "review", "invalid", "error")
REQUIRED = frozenset({"id", "status"})


def row_key(row: Any) -> str:
    return str(row["id"])


def error_row(row: InputRow, reason: str) -> dict[str, Any]:
    return _row(row, "error", None, "", reason, {}, prompt_tokens=0, completion_tokens=0, seconds=0.0)


def result_row(task: Task, row: InputRow, completion: Completion) -> dict[str, Any]:
    if completion.finish_reason == "error" or completion.error is not None:
        return _row(row, "error", None, completion.text, completion.error or "the backend failed this row", {},
                    completion.prompt_tokens, completion.completion_tokens, completion.seconds)
    output, reason = check_output(task, completion.text, completion.finish_reason)
    if output is None:
        return _row(row, "invalid", None, completion.text, reason, {}, completion.prompt_tokens,
                    completion.completion_tokens, completion.seconds)
    abstention = task.spec.abstention
    scores: dict[str, float | None] = {}
    status: Status = "ok"
    if abstention is not None:
        scores = confidences(completion.text, completion.tokens, abstention.fields)
        if any(score is not None and score < abstention.threshold for score in scores.values()):
            status = "review"
    return _row(row, status, output, completion.text, None, scores, completion.prompt_tokens,
                completion.completion_tokens, completion.seconds)


def check_output(task: Task, text: str, finish_reason: str) -> tuple[dict[str, Any] | None, str | None]:
    """The parsed output when it is valid against the schema; else None and why."""
    try:
        output = json.loads(text)
    except json.JSONDecodeError as error:
        cut = " (cut at output.max_tokens)" if finish_reason == "length" else ""
        return None, f"not JSON{cut}: {error.msg} at character {error.pos}"
    problem = jsonschema.exceptions.best_match(task.validator.iter_errors(output))
    if problem is not None:
        where = "/".join(str(part) for part in problem.absolute_path) or "(the object)"
        return None, f"not valid against output.schema at {where}: {problem.message}"
    return output, None


def _row(
    row: InputRow, status: Status, output: dict[str, Any] | None, raw: str, reason: str | None,
    scores: dict[str, float | None], prompt_tokens: int, completion_tokens: int, seconds: float,
) -> dict[str, Any]:
    return {
        "id": row.id,
        "lang": row.language,
        "status": status,
        "input": row.values,
        "output": output,
        "raw": raw,
        "reason": reason,
        "confidence": {name: None if value is None else round(value, 6) for name, value in scores.items()},
        "hard": list(row.hard),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "seconds": round(seconds, 4),
    }
