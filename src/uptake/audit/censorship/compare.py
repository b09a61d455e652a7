"""Several runs side by side: the gap per language, the safety baselines and the accuracy of answers, for each
run (e.g. a base model and the same model with an adapter: `uptake control` reports its edits this way)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from uptake.audit.censorship import charts
from uptake.audit.censorship.report import STYLE, esc, interval, signed, table
from uptake.audit.censorship.runs import RunIndex, locate_run
from uptake.audit.censorship.summary import SCHEMA, SCHEMA_VERSION, validate_summary
from uptake.audit.censorship.terminal import accuracy_cell
from uptake.errors import UsageError

COMPARE_SCHEMA = "uptake.audit.censorship.compare"
COMPARE_SCHEMA_VERSION = 1


def load_summary(run: str, index: RunIndex) -> dict[str, Any]:
    folder = locate_run(run, index)
    try:
        summary = json.loads(folder.summary_path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise UsageError(f"run {run} has no summary.json yet; finish it with --resume {run}.") from error
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"cannot read {folder.summary_path}: {error}.") from error
    if summary.get("schema") != SCHEMA or summary.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(
            f"{folder.summary_path} is not a {SCHEMA} v{SCHEMA_VERSION} summary; rebuild it with --resume {run}."
        )
    validate_summary(summary)
    return dict(summary)


def compare_runs(summaries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if len(summaries) < 2:
        raise UsageError("compare needs at least two run ids.")
    langs = list(dict.fromkeys(lang for summary in summaries for lang in summary["audit"]["langs"]))
    names = [summary["model"]["name"] for summary in summaries]
    runs = []
    for summary, name in zip(summaries, names, strict=True):
        label = name if names.count(name) == 1 else f"{name} ({summary['run']['id']})"
        runs.append(
            {
                "id": summary["run"]["id"],
                "label": label,
                "status": summary["run"]["status"],
                "model": {key: summary["model"].get(key) for key in ("name", "sha256", "quantization", "adapter")},
                "audit": {key: summary["audit"][key] for key in ("langs", "samples", "quick", "max_tokens", "topics")},
                "counts": summary["counts"],
                "headline": summary["headline"],
                "baselines": summary["baselines"],
                "accuracy": summary.get("accuracy") or [],
            }
        )
    return {
        "schema": COMPARE_SCHEMA,
        "schema_version": COMPARE_SCHEMA_VERSION,
        "langs": langs,
        "runs": runs,
        "warnings": _warnings(summaries),
    }


def _warnings(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Differences that make the gaps of two runs measure different things."""
    warnings = []
    first = summaries[0]
    for summary in summaries[1:]:
        pair = f"{first['run']['id']} and {summary['run']['id']}"
        if summary["reproduce"]["probe_set"]["version"] != first["reproduce"]["probe_set"]["version"]:
            warnings.append(f"{pair} used different probe sets.")
        for key in ("topics", "baselines", "split", "samples", "max_tokens"):
            if summary["audit"].get(key) != first["audit"].get(key):
                warnings.append(f"{pair} differ in {key}.")
        if summary["reproduce"]["classifier"] != first["reproduce"]["classifier"]:
            warnings.append(f"{pair} used different classifiers.")
    return warnings


def gap_cell(run: Mapping[str, Any], lang: str) -> str:
    gap = next((row for row in run["headline"] if row["lang"] == lang), None)
    if gap is None:
        return "—"
    return f"{signed(gap['gap'])} [{signed(gap['low'])}, {signed(gap['high'])}]"


def baseline_cell(run: Mapping[str, Any], arm: str) -> str:
    """Refusal rate over the run's languages, each shown."""
    records = run["baselines"][arm]
    return "; ".join(f"{record['lang']} {interval(record['refused'])}" for record in records) or "—"


def render_compare_html(comparison: Mapping[str, Any]) -> str:
    runs = comparison["runs"]
    langs = comparison["langs"]
    rows = [
        (
            run["label"],
            run["id"],
            str(run["model"]["sha256"])[:12],
            *(gap_cell(run, lang) for lang in langs),
            baseline_cell(run, "neutral"),
            baseline_cell(run, "harm"),
            accuracy_cell(run),
        )
        for run in runs
    ]
    warnings = "".join(f"<li>{esc(warning)}</li>" for warning in comparison["warnings"])
    body = (
        "<h1>Censorship audits compared</h1>"
        '<p class="note">Censorship gap per language (target non-answer rate minus matched control), with its 95% '
        "interval; refusal rates of neutral questions and harmful requests kept apart; accurate answers (key facts "
        "present) among answered targets vs answered controls.</p>"
        + table(
            ["model", "run", "sha256", *(f"gap {lang}" for lang in langs), "neutral refused", "harm refused",
             "accurate: targets vs controls"], rows,
            numeric_from=3,
        )
        + charts.compare_chart(runs, langs)
        + (f'<h2>Caveats</h2><ul class="note">{warnings}</ul>' if warnings else "")
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Censorship audits compared</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )
