"""What the Audits pages show: the runs in the index, one run's gaps, topics and answers, and two runs compared.

The list reads only each run's headline out of the index (SQLite's json_extract), so a hundred runs cost one
query, not a hundred summary files.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from uptake.audit.censorship.charts import ARM_COLORS
from uptake.audit.censorship.compare import compare_runs, load_summary
from uptake.audit.censorship.runs import RUN_KIND, RunIndex, locate_run
from uptake.db import connect
from uptake.errors import UsageError
from uptake.reports.svg import IntervalRow, interval_chart

ANSWERS_PER_PAGE = 50
LABELS = ("answered", "refused", "deflected", "state_narrative")


def audit_runs(db_path: Path) -> list[dict[str, Any]]:
    with contextlib.closing(connect(db_path)) as db:
        rows = db.execute(
            "SELECT id, model_name, status, created_at, finished_at, json_extract(summary, '$.headline') AS headline,"
            " json_extract(summary, '$.model.adapter') AS adapter FROM runs WHERE kind = ? ORDER BY created_at DESC,"
            " id DESC",
            (RUN_KIND,),
        ).fetchall()
    runs = []
    for row in rows:
        headline = json.loads(row["headline"]) if row["headline"] else []
        runs.append({
            "id": row["id"],
            "model": row["model_name"],
            "adapter": row["adapter"],
            "status": row["status"],
            "created_at": row["created_at"],
            "finished_at": row["finished_at"],
            "gaps": {gap["lang"]: gap for gap in headline if isinstance(gap, dict) and "lang" in gap},
        })
    return runs


def gap_rows(headline: Sequence[Mapping[str, Any]], prefix: str = "") -> list[IntervalRow]:
    return [IntervalRow(f"{prefix}{gap['lang']}", gap["gap"], gap["low"], gap["high"], ARM_COLORS["target"])
            for gap in headline if gap.get("gap") is not None]


def gap_chart(rows: list[IntervalRow], title: str) -> str:
    return interval_chart(rows, low=-1.0, high=1.0, title=title, signed=True) if rows else ""


def indexed(run_id: str, index: RunIndex) -> str:
    """A run the index knows, by id: the console never opens a folder named by a request."""
    if index.directory_of(run_id) is None:
        raise UsageError(f"no censorship audit run '{run_id}' in this store's index.")
    return run_id


def audit_run(run_id: str, index: RunIndex) -> dict[str, Any]:
    summary = load_summary(indexed(run_id, index), index)
    return {"summary": summary, "chart": gap_chart(gap_rows(summary["headline"]), "Gap per language")}


def answers(run_id: str, index: RunIndex, *, lang: str | None, label: str | None, arm: str | None,
            page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the run's generations (newest journal order), filtered; and how many match in all."""
    folder = locate_run(indexed(run_id, index), index)
    matches = []
    if folder.results_path.is_file():
        with folder.results_path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the last line of a run still in progress
                if (lang and row.get("lang") != lang) or (label and row.get("label") != label) or (
                        arm and row.get("arm") != arm):
                    continue
                matches.append(row)
    start = max(page - 1, 0) * ANSWERS_PER_PAGE
    return matches[start:start + ANSWERS_PER_PAGE], len(matches)


def audit_compare(first: str, second: str, index: RunIndex) -> dict[str, Any]:
    comparison = compare_runs([load_summary(indexed(first, index), index), load_summary(indexed(second, index), index)])
    rows: list[IntervalRow] = []
    for lang in comparison["langs"]:
        for number, run in enumerate(comparison["runs"]):
            gap = next((g for g in run["headline"] if g["lang"] == lang and g.get("gap") is not None), None)
            if gap is not None:
                color = ARM_COLORS["target"] if number == 0 else ARM_COLORS["control"]
                rows.append(IntervalRow(f"{lang} · run {number + 1}", gap["gap"], gap["low"], gap["high"], color))
    return {"comparison": comparison, "chart": gap_chart(rows, "Gap per language, both runs")}
