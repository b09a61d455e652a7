"""The scanner's optional packages, the `[scan]` extra: h5py (Keras/HDF5), onnx (ONNX), cyclonedx (ML-BOM).

They are imported only where a file needs them, so the scanner, and with it the store's gate, exists
without them: GGUF, safetensors, pickles, NumPy headers and chat templates are checked all the same. A file that
needs a missing package gets SCAN001, an error: its verdict is `unreadable`, the gate refuses it, and it
is never reported clean. The message names the extra to install.
"""

from __future__ import annotations

from uptake import extras
from uptake.scan.report import EXIT_USAGE, NOWHERE, Finding, Location, Severity

INSTALL_HINT = extras.install_hint("scan")
is_installed = extras.is_installed


def missing_extra_finding(package: str, what: str, where: Location = NOWHERE) -> Finding:
    """SCAN001 for a file (or archive member) that could not be checked because `package` is missing."""
    return Finding(
        "SCAN001",
        Severity.ERROR,
        f"{what} needs the {package} package, which is not installed, so nothing in it was checked; "
        f"install the scan extra: {INSTALL_HINT}",
        where,
    )


class MissingExtraError(extras.MissingExtraError):
    """An option that needs a package of the [scan] extra (`uptake scan --bom` needs cyclonedx); a scan
    usage error, so exit 3 (2 would read as a dangerous file)."""

    exit_code = EXIT_USAGE

    def __init__(self, package: str, what: str) -> None:
        super().__init__("scan", what, [package])
