"""Static scan of model files before anything loads them: format checks, chat templates, provenance.

The store's gate (gate.py) runs it on every pull and import. It needs none of the [scan] extra's packages
to exist; a file that needs one of them to be checked is unreadable, never clean (extras.py).

from uptake.scan import scan_path
report = scan_path(Path("model.gguf"))
report.verdict, report.exit_code(), report.to_json()
"""

from uptake.scan.report import (
    SCHEMA,
    FileReport,
    Finding,
    Location,
    ModelIdentity,
    Provenance,
    ScanReport,
    Severity,
    Verdict,
)
from uptake.scan.scanner import Target, scan_file, scan_for_import, scan_path, scan_paths, scan_targets

__all__ = [
    "SCHEMA",
    "FileReport",
    "Finding",
    "Location",
    "ModelIdentity",
    "Provenance",
    "ScanReport",
    "Severity",
    "Target",
    "Verdict",
    "scan_file",
    "scan_for_import",
    "scan_path",
    "scan_paths",
    "scan_targets",
]
