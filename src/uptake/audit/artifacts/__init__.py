"""Static scan of model files before anything loads them: format checks, chat templates, provenance.

from uptake.audit.artifacts import scan_path
report = scan_path(Path("model.gguf"))
report.verdict, report.exit_code(), report.to_json()
"""

from uptake.audit.artifacts.report import (
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
from uptake.audit.artifacts.scanner import Target, scan_file, scan_for_import, scan_path, scan_paths, scan_targets

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
