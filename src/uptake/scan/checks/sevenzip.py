"""7z archives (`.7z`, or a model renamed to anything): loaders and hubs unpack them, so every member is
unpacked into a private temporary folder, within a size bound, and scanned like a file of its own.

py7zr (the [scan] extra) does the unpacking; without it a 7z file is unreadable (SCAN001), never clean.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from uptake.scan.extras import is_installed, missing_extra_finding
from uptake.scan.report import Finding, Location, Severity

SEVENZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
MAX_UNPACKED_BYTES = 1 << 30


def _escapes(name: str) -> bool:
    return ".." in PurePosixPath(name).parts or name.startswith("/")


def scan_sevenzip(path: Path, scan_member: Callable[[Path], list[Finding]]) -> list[Finding]:
    """Findings of every member, located by member name; `scan_member` scans one unpacked file."""
    if not is_installed("py7zr"):
        return [missing_extra_finding("py7zr", "7z archive analysis")]
    import py7zr

    try:
        with py7zr.SevenZipFile(path, mode="r") as archive:
            entries = [entry for entry in archive.list() if not entry.is_directory]
            total = sum(entry.uncompressed or 0 for entry in entries)
            if total > MAX_UNPACKED_BYTES:
                return [
                    Finding("SZ001", Severity.ERROR, f"7z archive unpacks to {total} bytes, beyond what is analysed")
                ]
            escaping = [
                e.filename for e in entries if ".." in PurePosixPath(e.filename).parts or e.filename.startswith("/")
            ]
            if escaping:
                return [
                    Finding(
                        "ZIP002",
                        Severity.DANGEROUS,
                        "archive member path leads outside the archive (path traversal)",
                        Location(member=escaping[0]),
                    )
                ]
            with tempfile.TemporaryDirectory(prefix="uptake-7z-") as folder:
                archive.extractall(path=folder)
                findings = []
                for entry in entries:
                    unpacked = Path(folder) / entry.filename
                    if unpacked.is_file() and not unpacked.is_symlink():
                        for finding in scan_member(unpacked):
                            where = finding.location
                            member = entry.filename if where.member is None else f"{entry.filename}/{where.member}"
                            findings.append(
                                Finding(
                                    finding.rule,
                                    finding.severity,
                                    finding.message,
                                    Location(member=member, key=where.key, offset=where.offset),
                                    finding.evidence,
                                )
                            )
    except Exception as error:  # py7zr raises its own errors, lzma/bcj errors, OSError...
        return [
            Finding(
                "SZ001", Severity.ERROR, f"7z archive cannot be unpacked ({type(error).__name__}: {str(error)[:120]})"
            )
        ]
    return findings
