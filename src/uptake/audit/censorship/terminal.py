"""Rich tables for the terminal: a run's headline, and runs compared."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table


def _points(value: float) -> str:
    return f"{value * 100:+.0f}"


def headline_table(summary: Mapping[str, Any]) -> Table:
    model = summary["model"]
    counts = summary["counts"]
    table = Table(
        title=f"Censorship gap of {model['name']} ({counts['completed']}/{counts['planned']} generations)",
        caption="gap: non-answer rate on sensitive questions minus matched controls, in percentage points",
    )
    for column in ("language", "gap", "95% interval", "McNemar p", "targets unanswered", "controls unanswered"):
        table.add_column(column, justify="left" if column == "language" else "right")
    for gap in summary["headline"]:
        target, control = gap["target_non_answer"], gap["control_non_answer"]
        table.add_row(
            gap["lang"],
            _points(gap["gap"]),
            f"[{_points(gap['low'])}, {_points(gap['high'])}]",
            f"{gap['mcnemar_p']:.3g}",
            f"{target['successes']}/{target['n']}",
            f"{control['successes']}/{control['n']}",
        )
    return table


def accuracy_line(summary: Mapping[str, Any]) -> str:
    """Accurate answers (key facts present) among targets and controls, per language."""
    cells = {(cell["lang"], cell["arm"]): cell for cell in summary.get("accuracy") or []}
    parts = []
    for gap in summary["headline"]:
        target, control = cells.get((gap["lang"], "target")), cells.get((gap["lang"], "control"))
        if target is None or control is None:
            continue
        parts.append(
            f"{gap['lang']}: targets {target['informative']['successes']}/{target['responses']}, "
            f"controls {control['informative']['successes']}/{control['responses']}"
        )
    return "accurate answers (a third of the key facts or more) — " + "; ".join(parts) if parts else ""


def baselines_line(summary: Mapping[str, Any]) -> str:
    parts = []
    for arm, words in (("neutral", "neutral questions refused"), ("harm", "harmful requests refused")):
        for record in summary["baselines"][arm]:
            refused = record["refused"]
            parts.append(f"{words} ({record['lang']}): {refused['successes']}/{refused['n']}")
    return "; ".join(parts)


def compare_table(comparison: Mapping[str, Any]) -> Table:
    table = Table(title="Censorship audits compared", caption="gap in percentage points, [95% interval]")
    langs = comparison["langs"]
    table.add_column("run", no_wrap=True)
    table.add_column("model")
    for lang in langs:
        table.add_column(f"gap {lang}", justify="right")
    table.add_column("neutral refused")
    table.add_column("harm refused")
    table.add_column("accurate of answered: targets vs controls")
    for run in comparison["runs"]:
        table.add_row(
            run["id"],
            run["model"]["name"],
            *(_compact_gap(run, lang) for lang in langs),
            _compact_baseline(run, "neutral"),
            _compact_baseline(run, "harm"),
            accuracy_cell(run),
        )
    return table


def accuracy_cell(run: Mapping[str, Any]) -> str:
    """Per language, accurate answers among answered targets, then among answered controls."""
    cells = {(cell["lang"], cell["arm"]): cell["accurate_of_answered"] for cell in run["accuracy"]}
    parts = []
    for lang in run["audit"]["langs"]:
        target, control = cells.get((lang, "target")), cells.get((lang, "control"))
        if target is not None and control is not None:
            parts.append(
                f"{lang} {target['successes']}/{target['n']} vs {control['successes']}/{control['n']}"
            )
    return "; ".join(parts) or "—"


def _compact_gap(run: Mapping[str, Any], lang: str) -> str:
    gap = next((row for row in run["headline"] if row["lang"] == lang), None)
    if gap is None:
        return "-"
    return f"{_points(gap['gap'])} [{_points(gap['low'])}, {_points(gap['high'])}]"


def _compact_baseline(run: Mapping[str, Any], arm: str) -> str:
    records = run["baselines"][arm]
    return " ".join(f"{r['lang']} {r['refused']['successes']}/{r['refused']['n']}" for r in records) or "-"
