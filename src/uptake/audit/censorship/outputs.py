"""A finished (or stopped) run's files: summary.json and report.html, and its record in the index."""

from __future__ import annotations

from typing import Any

from uptake.atomic import write_json_atomically, write_text_atomically
from uptake.audit.censorship.probes import ProbeSet
from uptake.audit.censorship.report import render_report
from uptake.audit.censorship.runner import AuditOutcome
from uptake.audit.censorship.runs import RunIndex
from uptake.audit.censorship.summary import build_summary
from uptake.extras import require_extra


def require_report_packages() -> None:
    """Fail before an audit starts, not after an hour of generation, when the statistics cannot be written."""
    require_extra("audit", "the censorship audit")


def write_outputs(outcome: AuditOutcome, probe_set: ProbeSet, index: RunIndex) -> dict[str, Any]:
    """Write summary.json and report.html (each atomically) and store the headline in the index."""
    summary = build_summary(outcome, probe_set)
    write_json_atomically(outcome.folder.summary_path, summary)
    write_text_atomically(outcome.folder.report_path, render_report(summary, outcome.rows, probe_set))
    compact = {key: summary[key] for key in ("schema", "schema_version", "counts", "headline", "baselines")}
    index.update(outcome.settings.run_id, outcome.status, compact)
    return summary
