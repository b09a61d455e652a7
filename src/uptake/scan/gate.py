"""The scan as the store's gate: `uptake pull` and `uptake import` scan a file before registering it.

A dangerous or unreadable file is refused (nothing is registered) unless the user forces it; the
report comes back as JSON for the store to keep, so `uptake show` can tell the last verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from uptake.errors import BlockedModelError
from uptake.models.catalog import CatalogEntry
from uptake.scan.report import ScanReport, Severity, Verdict
from uptake.scan.scanner import scan_for_import

REFUSED = frozenset({Verdict.DANGEROUS, Verdict.UNREADABLE})
MAX_NAMED_FINDINGS = 3


def refusal_message(report: ScanReport) -> str:
    serious = [f for _, f in report.findings() if f.severity in (Severity.DANGEROUS, Severity.ERROR)]
    named = "; ".join(f"{f.rule} {f.message}" for f in serious[:MAX_NAMED_FINDINGS])
    more = f" (+{len(serious) - MAX_NAMED_FINDINGS} more)" if len(serious) > MAX_NAMED_FINDINGS else ""
    return (
        f"the artifact scan found this file {report.verdict.value}: {named}{more}. Nothing was registered; "
        "run 'uptake scan FILE' for every finding, or pass --force to register it anyway."
    )


def scan_gate(force: bool = False) -> Callable[[Path, CatalogEntry | None, str], dict[str, Any]]:
    """A store gate: scans the file, raises BlockedModelError for a refused verdict unless `force`."""

    def gate(path: Path, entry: CatalogEntry | None, sha256: str) -> dict[str, Any]:
        report = scan_for_import(path, entry, sha256=sha256)
        if report.verdict in REFUSED and not force:
            raise BlockedModelError(refusal_message(report))
        return report.to_dict()

    return gate
