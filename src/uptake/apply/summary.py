"""summary.json: counts, per-field metrics with 95% intervals (all rows, answered rows, per language), the
confusion of each label field, abstention, the gates and their verdict, and speed.

Scopes: "all" scores every row that has gold, a row without a valid answer (invalid, error) as wrong;
"answered" scores the rows that went to the results (not to review). Gates read "all" unless they say
`answered.`; a gate is judged on the point estimate, and its interval is reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from uptake import __version__
from uptake.apply.metrics import MISSING, Score, confusion, normalize_text, proportion_score, score_field
from uptake.apply.rows import STATUSES
from uptake.apply.spec import Gate, Task

SUMMARY_VERSION = 1


def predicted_value(row: Mapping[str, Any], field: str) -> Any:
    output = row.get("output")
    if row["status"] not in {"ok", "review"} or not isinstance(output, dict):
        return MISSING
    return output.get(field)


def field_metrics(
    task: Task, rows: Sequence[Mapping[str, Any]], gold: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    scored = [row for row in rows if row["id"] in gold]
    metrics: dict[str, Any] = {}
    if not scored:
        return metrics
    for name, field in task.fields.items():
        truth = [gold[row["id"]].get(name) for row in scored]
        predictions = [predicted_value(row, name) for row in scored]
        metrics[name] = {
            "type": field.kind,
            "metrics": {spec.metric: score_field(field, spec, truth, predictions).as_dict() for spec in field.metrics},
        }
    return metrics


def build_summary(
    task: Task, settings: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], gold: Mapping[str, Mapping[str, Any]],
    *, selected: int, speed: Mapping[str, Any], finished_at: str,
) -> dict[str, Any]:
    counts = {status: sum(row["status"] == status for row in rows) for status in STATUSES}
    generated = counts["ok"] + counts["review"] + counts["invalid"]
    validity = {"schema_valid": counts["ok"] + counts["review"], "checked": generated,
                "rate": round((counts["ok"] + counts["review"]) / generated, 4) if generated else None,
                "constrained": settings["options"]["constrained"]}
    scored = [row for row in rows if row["id"] in gold]
    answered = [row for row in scored if row["status"] == "ok"]
    metrics = {
        "all": field_metrics(task, scored, gold),
        "answered": field_metrics(task, answered, gold),
        "by_language": {
            language: field_metrics(task, [row for row in scored if row["lang"] == language], gold)
            for language in task.spec.languages
            if any(row["lang"] == language for row in scored)
        },
    }
    matrices = {
        name: confusion(
            field, [gold[row["id"]].get(name) for row in scored], [predicted_value(row, name) for row in scored]
        )
        for name, field in task.fields.items()
        if field.kind in {"enum", "boolean"} and scored
    }
    abstention = _abstention(task, rows, gold)
    gates = [_judge(gate, metrics, abstention, validity) for gate in task.gates]
    judged = [gate["passed"] for gate in gates if gate["passed"] is not None]
    return {
        "version": SUMMARY_VERSION,
        "task": {
            "name": task.name, "version": task.spec.version, "sector": task.spec.sector,
            "description": task.spec.description, "notice": task.spec.notice, "synthetic": task.spec.synthetic,
            "languages": list(task.spec.languages), "input_fields": list(task.spec.input.fields), "sha256": task.sha256,
        },
        "run_id": settings["run_id"],
        "started_at": settings["created_at"],
        "finished_at": finished_at,
        "model": settings.get("model"),
        "backend": settings.get("backend"),
        "options": settings["options"],
        "counts": {"rows": selected, "done": len(rows), **counts, "missing": selected - len(rows)},
        "validity": validity,
        "gold": bool(gold),
        "metrics": metrics,
        "confusion": matrices,
        "abstention": abstention,
        "gates": gates,
        "passed": all(judged) if judged else None,  # gates that could not be measured are said so, not failed
        "speed": dict(speed),
        "uptake_version": __version__,
        "packages": settings.get("packages", {}),
    }


def _abstention(
    task: Task, rows: Sequence[Mapping[str, Any]], gold: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    spec = task.spec.abstention
    if spec is None:
        return None
    valid = [row for row in rows if row["status"] in {"ok", "review"}]
    review = [row for row in valid if row["status"] == "review"]
    unavailable = sum(1 for row in valid if any(row["confidence"].get(name) is None for name in spec.fields))
    field = spec.fields[0]

    def accuracy(group: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
        hits = [normalize_text(predicted_value(row, field)) == normalize_text(gold[row["id"]].get(field))
                for row in group if row["id"] in gold]
        return proportion_score(hits).as_dict() if hits else None

    return {
        "fields": list(spec.fields), "threshold": spec.threshold, "review": len(review),
        "coverage": round((len(valid) - len(review)) / len(rows), 4) if rows else None,
        "confidence_unavailable": unavailable,
        "accuracy_field": field,
        "accuracy_answered": accuracy([row for row in valid if row["status"] == "ok"]),
        "accuracy_abstained": accuracy(review),
    }


def _judge(
    gate: Gate, metrics: Mapping[str, Any], abstention: Mapping[str, Any] | None, validity: Mapping[str, Any]
) -> dict[str, Any]:
    record: dict[str, Any] = {"expression": gate.expression, "scope": gate.scope, "field": gate.field,
                              "metric": gate.metric, "op": gate.op, "threshold": gate.threshold}
    score: Score | None = None
    value: float | None = None
    if gate.field == "coverage":
        value = None if abstention is None else abstention["coverage"]
    elif gate.field == "schema_valid_rate":
        value = validity["rate"]
    else:
        found = metrics[gate.scope].get(gate.field, {}).get("metrics", {}).get(gate.metric or "")
        if found is not None:
            score = Score(found["value"], found["low"], found["high"], found["n"])
            value = score.value
    if value is None:
        return {**record, "value": None, "low": None, "high": None, "passed": None,
                "why": "not measured (no gold for these rows, or nothing to measure)"}
    return {**record, "value": round(value, 4), "low": None if score is None else round(score.low, 4),
            "high": None if score is None else round(score.high, 4), "passed": gate.holds(value)}


def speed_record(
    rows: Sequence[Mapping[str, Any]], generated: int, wall_s: float, peak_rss: int,
    counters: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    return {
        **(counters or {}),
        "rows_run": generated,
        "wall_s": round(wall_s, 2),
        "rows_per_minute": round(generated / wall_s * 60, 2) if wall_s > 0 and generated else None,
        "prompt_tokens": sum(int(row.get("prompt_tokens") or 0) for row in rows),
        "completion_tokens": sum(int(row.get("completion_tokens") or 0) for row in rows),
        "peak_rss_bytes": peak_rss,
    }


def report_rows(rows: Sequence[Mapping[str, Any]], gold: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The journal rows with their gold, for the report."""
    return [{**row, "gold": gold.get(row["id"])} for row in rows]
