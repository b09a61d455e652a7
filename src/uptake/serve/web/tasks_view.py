"""What the Tasks pages show: the task runs under UPTAKE_HOME/tasks, one run's metrics and gates, and its review
queue with the decisions taken so far."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from uptake.apply.review import read_decisions, review_fields, review_rows, run_task
from uptake.apply.runner import TaskRunFolder, runs_dir
from uptake.errors import UsageError
from uptake.reports.svg import IntervalRow, interval_chart


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def task_runs(home: Path) -> list[dict[str, Any]]:
    folder = runs_dir(home)
    if not folder.is_dir():
        return []
    runs = []
    for directory in sorted(folder.iterdir(), reverse=True):
        settings = _read_json(directory / "run.json")
        if settings is None or settings.get("kind") != "task":
            continue
        summary = _read_json(directory / "summary.json")
        gates = (summary or {}).get("gates") or []
        runs.append({
            "id": directory.name,
            "task": (settings.get("task") or {}).get("name", "?"),
            "model": ((settings.get("model") or {}).get("name")) or (settings.get("backend") or {}).get("url", "?"),
            "created_at": settings.get("created_at", "?"),
            "finished": summary is not None,
            "passed": None if summary is None else bool(summary.get("passed")),
            "gates_failed": sum(1 for gate in gates if not gate.get("passed")),
            "gates": len(gates),
            "counts": (summary or {}).get("counts") or {},
        })
    return runs


def locate(home: Path, run_id: str) -> TaskRunFolder:
    """A run under the home's tasks/ folder, by its id only: a page never opens a path it was given."""
    directory = runs_dir(home) / run_id
    if "/" in run_id or run_id in ("", ".", "..") or not (directory / "run.json").is_file():
        raise UsageError(f"no task run '{run_id}'.")
    return TaskRunFolder(directory)


def metric_chart(fields: dict[str, Any], title: str) -> str:
    def bound(record: dict[str, Any], key: str) -> float:
        value = record.get(key)
        return float(value if isinstance(value, int | float) else record["value"])

    rows = [
        IntervalRow(f"{field} {name}", record["value"], bound(record, "low"), bound(record, "high"))
        for field, entry in fields.items()
        for name, record in ((entry or {}).get("metrics") or {}).items()
        if isinstance(record, dict) and isinstance(record.get("value"), int | float)
        and 0.0 <= record["value"] <= 1.0
    ]
    return interval_chart(rows, low=0.0, high=1.0, title=title) if rows else ""


def task_run(home: Path, run_id: str) -> dict[str, Any]:
    folder = locate(home, run_id)
    settings = folder.read_settings()
    summary = _read_json(folder.summary_path)
    metrics = (summary or {}).get("metrics") or {}
    return {
        "id": run_id,
        "settings": settings,
        "summary": summary,
        "chart": metric_chart(metrics.get("all") or {}, "Metrics on all rows"),
        "by_language": {lang: metric_chart(fields, f"Metrics, {lang}")
                        for lang, fields in (metrics.get("by_language") or {}).items()},
        "has_report": folder.report_path.is_file(),
        "review_count": len(review_rows(folder)),
    }


def review_queue(home: Path, run_id: str) -> dict[str, Any]:
    folder = locate(home, run_id)
    rows = review_rows(folder)
    decisions = read_decisions(folder)
    return {
        "id": run_id,
        "task": (folder.read_settings().get("task") or {}).get("name", "?"),
        "rows": rows,
        "fields": review_fields(run_task(folder), rows),
        "decisions": decisions,
        "open": sum(1 for row in rows if str(row.get("id")) not in decisions),
    }
