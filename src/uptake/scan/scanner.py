"""Scan files and model folders: detect each file's format, run its checks, attach provenance.

Nothing here loads weights, unpickles or renders anything. Whatever goes wrong while reading a file
becomes a finding that makes the file `unreadable`; the scanner itself never fails on a hostile file.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from uptake import __version__
from uptake.models.catalog import CatalogEntry, load_catalog
from uptake.models.gguf_header import GGUFHeader
from uptake.models.template_hash import chat_template_sha256
from uptake.scan.checks import hf_folder
from uptake.scan.checks.archive import scan_archive
from uptake.scan.checks.compressed import compression_of, scan_compressed
from uptake.scan.checks.gguf import TEMPLATE_KEY, scan_gguf
from uptake.scan.checks.keras import scan_hdf5
from uptake.scan.checks.numpy import check_npy_stream
from uptake.scan.checks.onnx import scan_onnx
from uptake.scan.checks.pickle import check_pickle_stream
from uptake.scan.checks.safetensors import scan_safetensors
from uptake.scan.checks.sevenzip import scan_sevenzip
from uptake.scan.provenance import (
    check_provenance,
    closest_reference,
    file_sha256,
    header_mismatches,
    identity_from_entry,
    identity_from_header,
    lookalike_entries,
    lookalike_finding,
)
from uptake.scan.report import FileReport, Finding, Location, ScanReport, Severity
from uptake.scan.sniff import MODEL_SUFFIXES, Format, is_hf_folder, name_disagrees, sniff_file
from uptake.scan.templates.checks import check_template
from uptake.scan.templates.reference import compare_with_reference

WEIGHT_FORMATS = frozenset(
    {
        Format.GGUF,
        Format.SAFETENSORS,
        Format.PYTORCH_ZIP,
        Format.PICKLE,
        Format.NUMPY,
        Format.NUMPY_ZIP,
        Format.ONNX,
        Format.HDF5,
        Format.KERAS,
        Format.COMPRESSED,
        Format.SEVENZIP,
    }
)
SKIPPED_DIRECTORIES = frozenset({".git", ".cache", "__pycache__", ".huggingface"})


@dataclass
class _Checked:
    findings: list[Finding] = field(default_factory=list)
    templates: dict[str, str] = field(default_factory=dict)
    header: GGUFHeader | None = None


def _check_gguf(path: Path) -> _Checked:
    scan = scan_gguf(path)
    checked = _Checked(findings=scan.findings, templates=scan.templates, header=scan.header)
    for key, source in scan.templates.items():
        offset = scan.header.metadata_offsets.get(key) if scan.header else None
        checked.findings += check_template(source, Location(key=key, offset=offset))
    return checked


def _check_content(path: Path, kind: Format, size: int) -> _Checked:
    """The format's own checks. Unknown formats are unreadable: a scanner never calls them clean."""
    if kind is Format.GGUF:
        return _check_gguf(path)
    if kind is Format.SAFETENSORS:
        return _Checked(scan_safetensors(path))
    if kind is Format.PICKLE:
        with open(path, "rb") as handle:
            findings = check_pickle_stream(handle, size)
        if zipfile.is_zipfile(path):  # a zip after a pickle: zip readers find it from the end
            findings += [f for f in scan_archive(path, Format.ZIP) if f.rule != "ZIP005"]
        return _Checked(findings)
    if kind is Format.NUMPY:
        with open(path, "rb") as handle:
            return _Checked(check_npy_stream(handle, size))
    if kind in (Format.PYTORCH_ZIP, Format.NUMPY_ZIP, Format.ZIP, Format.KERAS):
        return _Checked(scan_archive(path, kind))
    if kind is Format.HDF5:
        return _Checked(scan_hdf5(path))
    if kind is Format.SEVENZIP:
        return _Checked(scan_sevenzip(path, _member_findings))
    if kind is Format.COMPRESSED:
        with open(path, "rb") as handle:
            compression = compression_of(handle.read(64))
        assert compression is not None
        return _Checked(scan_compressed(path, compression))
    if kind is Format.ONNX:
        return _Checked(scan_onnx(path))
    if kind is Format.JSON:
        findings, templates = hf_folder.check_json_file(path)
        return _Checked(findings, templates)
    if kind is Format.JINJA:
        findings, templates = hf_folder.check_template_file(path)
        return _Checked(findings, templates)
    if kind is Format.PYTHON:
        return _Checked(hf_folder.check_python_file(path))
    unanalysed = Finding("SNIFF001", Severity.ERROR, "uptake does not analyse this format; nothing in it was checked")
    return _Checked([unanalysed])


def _member_findings(path: Path) -> list[Finding]:
    """The content checks of a file unpacked from an archive (no provenance: it is not a download)."""
    try:
        return _check_content(path, sniff_file(path), path.stat().st_size).findings
    except OSError as error:
        return [Finding("IO001", Severity.ERROR, f"cannot read the unpacked member: {error}")]


def _template_reference(checked: _Checked, entry: CatalogEntry, published: bool) -> list[Finding]:
    assert checked.header is not None
    template = checked.templates.get(TEMPLATE_KEY)
    offset = checked.header.metadata_offsets.get(TEMPLATE_KEY)
    return compare_with_reference(template, entry, published, Location(key=TEMPLATE_KEY, offset=offset))


def _provenance(report: FileReport, checked: _Checked, claimed: CatalogEntry | None) -> list[Finding]:
    if report.sha256 is None:
        return []
    catalog = load_catalog()
    result = check_provenance(report.sha256, catalog, claimed)
    report.provenance = result.provenance
    findings = [result.finding]
    entry = result.entry
    if entry is not None:
        report.model = identity_from_entry(entry)
    elif checked.header is not None:
        report.model = identity_from_header(checked.header)
    if checked.header is None:
        return findings
    if entry is not None:
        if not result.published:
            findings += header_mismatches(checked.header, entry)
        return findings + _template_reference(checked, entry, result.published)
    # Not a catalog file, but it may be a copy or a derivative of one: its template is then compared
    # with that family's reference, so an edited template in a re-upload does not pass unremarked.
    lookalikes = lookalike_entries(checked.header, catalog)
    chosen = closest_reference(checked.templates.get(TEMPLATE_KEY), lookalikes)
    if chosen is None:
        return findings
    return [*findings, lookalike_finding(lookalikes, chosen), *_template_reference(checked, chosen, False)]


def scan_file(
    path: Path, *, claimed: CatalogEntry | None = None, sha256: str | None = None, compute_hash: bool = True
) -> FileReport:
    """Scan one file. `claimed`: the catalog entry it was pulled or imported as; `sha256`: if already known."""
    try:
        size = path.stat().st_size
        kind = sniff_file(path)
    except OSError as error:
        return FileReport(
            str(path), Format.UNKNOWN.value, 0, [Finding("IO001", Severity.ERROR, f"cannot read the file: {error}")]
        )
    report = FileReport(str(path), kind.value, size)
    if name_disagrees(path, kind):
        report.findings.append(
            Finding(
                "SNIFF002",
                Severity.WARNING,
                f"file is named '{path.suffix}' but its content is {kind.value}",
            )
        )
    try:
        checked = _check_content(path, kind, size)
        report.findings += checked.findings
        report.chat_templates = {key: chat_template_sha256(source) for key, source in checked.templates.items()}
        if kind in WEIGHT_FORMATS and (sha256 or compute_hash):
            report.sha256 = sha256 or file_sha256(path)
            report.findings += _provenance(report, checked, claimed)
    except Exception as error:  # the last line of defence: a reader bug must not pass as clean
        report.findings.append(
            Finding(
                "SCAN000",
                Severity.ERROR,
                f"the scanner failed while reading this file ({type(error).__name__}: {str(error)[:160]}); "
                "treat it as unreadable",
            )
        )
    return report


def _folder_files(folder: Path) -> list[Path]:
    hf = is_hf_folder(folder)
    chosen = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or SKIPPED_DIRECTORIES.intersection(path.relative_to(folder).parts[:-1]):
            continue
        suffix = path.suffix.lower()
        if suffix in MODEL_SUFFIXES or (hf and suffix in (".json", ".jinja", ".py")):
            chosen.append(path)
        elif path.stat().st_size >= 8:
            # A weights file with an unexpected name is still found by its content.
            try:
                if sniff_file(path) in WEIGHT_FORMATS:
                    chosen.append(path)
            except OSError:
                chosen.append(path)
    return chosen


@dataclass(frozen=True)
class Target:
    """One thing to scan. `claimed`: the catalog entry a file was pulled or imported as; `sha256`: if known."""

    path: Path
    claimed: CatalogEntry | None = None
    sha256: str | None = None


def _scan_folder(folder: Path, compute_hash: bool) -> list[FileReport]:
    found = _folder_files(folder)
    if not found:
        finding = Finding("SNIFF001", Severity.ERROR, "folder holds no model file that uptake can analyse")
        return [FileReport(str(folder), Format.FOLDER.value, 0, [finding])]
    return [scan_file(path, compute_hash=compute_hash) for path in found]


def scan_targets(targets: Sequence[Target], *, compute_hash: bool = True) -> ScanReport:
    """Scan files and folders (every model file in a folder, recursively) into one report."""
    started = time.perf_counter()
    scanned_at = datetime.now(UTC).isoformat(timespec="seconds")
    files: list[FileReport] = []
    for target in targets:
        if target.path.is_dir():
            files += _scan_folder(target.path, compute_hash)
        else:
            files.append(
                scan_file(target.path, claimed=target.claimed, sha256=target.sha256, compute_hash=compute_hash)
            )
    return ScanReport(
        targets=[str(t.path) for t in targets],
        files=files,
        scanned_at=scanned_at,
        duration_s=time.perf_counter() - started,
        scanner_version=__version__,
    )


def scan_paths(paths: Sequence[Path], *, compute_hash: bool = True) -> ScanReport:
    return scan_targets([Target(path) for path in paths], compute_hash=compute_hash)


def scan_path(path: Path, *, claimed: CatalogEntry | None = None, compute_hash: bool = True) -> ScanReport:
    return scan_targets([Target(path, claimed)], compute_hash=compute_hash)


def scan_for_import(path: Path, catalog_entry: CatalogEntry | None = None, sha256: str | None = None) -> ScanReport:
    """The scan the store runs before it registers a file (pull or import). The caller refuses the file
    when `report.verdict` is dangerous or unreadable, unless the user forces it, and keeps `report.to_json()`."""
    return scan_targets([Target(path, catalog_entry, sha256)])
