"""Checks on zip-based model files: PyTorch checkpoints (data.pkl + raw storages) and NumPy .npz archives.

Only the pickles and array headers inside are read; tensor storages are never extracted. Member names
that climb out of the archive (`../`) are dangerous: an extracting loader writes where they point.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from uptake.scan.checks.numpy import NPY_HEADER_ERRORS, check_npy_stream, read_npy_header
from uptake.scan.checks.pickle import check_pickle_stream
from uptake.scan.report import Finding, Location, Severity
from uptake.scan.sniff import Format

MAX_MEMBER_BYTES = 1 << 30  # pickles in checkpoints are small; the tensors live in other members
HEADER_READ_BYTES = 1 << 20  # enough for any .npy header (numpy caps them at 100k characters)
MEMBER_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,
)


def _escapes(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def _member_findings(info: zipfile.ZipInfo) -> list[Finding]:
    at = Location(member=info.filename, offset=info.header_offset)
    findings = []
    if _escapes(info.filename):
        findings.append(
            Finding(
                "ZIP002",
                Severity.DANGEROUS,
                "archive member path leads outside the archive (path traversal)",
                at,
            )
        )
    if info.flag_bits & 0x1:
        findings.append(Finding("ZIP003", Severity.ERROR, "archive member is encrypted and could not be read", at))
    return findings


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | Finding:
    at = Location(member=info.filename, offset=info.header_offset)
    if info.file_size > MAX_MEMBER_BYTES:
        return Finding("ZIP004", Severity.ERROR, f"member of {info.file_size} bytes is too large to analyse", at)
    try:
        with archive.open(info) as member:
            data = member.read(MAX_MEMBER_BYTES + 1)
    except MEMBER_READ_ERRORS as error:
        return Finding("ZIP001", Severity.ERROR, f"archive member cannot be read: {error}", at)
    if len(data) > MAX_MEMBER_BYTES:
        return Finding("ZIP004", Severity.ERROR, "member inflates beyond what can be analysed", at)
    return data


def _pytorch_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> list[Finding]:
    name = info.filename
    if name.endswith(".pkl"):
        data = _read_member(archive, info)
        if isinstance(data, Finding):
            return [data]
        return check_pickle_stream(io.BytesIO(data), len(data), Location(member=name))
    if "/code/" in f"/{name}" and name.endswith(".py"):
        return [
            Finding(
                "PT001",
                Severity.WARNING,
                "TorchScript code in the archive runs when the model is loaded with torch.jit.load",
                Location(member=name),
            )
        ]
    return []


def _npz_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> list[Finding]:
    if not info.filename.endswith(".npy"):
        return []
    at = Location(member=info.filename)
    try:
        with archive.open(info) as member:
            head = member.read(HEADER_READ_BYTES)
    except MEMBER_READ_ERRORS as error:
        return [Finding("ZIP001", Severity.ERROR, f"archive member cannot be read: {error}", at)]
    try:
        _shape, dtype = read_npy_header(io.BytesIO(head))
    except NPY_HEADER_ERRORS:
        return check_npy_stream(io.BytesIO(head), info.file_size, at)  # reports why the header is unreadable
    if not dtype.hasobject:
        return check_npy_stream(io.BytesIO(head), info.file_size, at)
    # An object array keeps a pickle after its header, so that member is read whole.
    data = _read_member(archive, info)
    if isinstance(data, Finding):
        return [data]
    return check_npy_stream(io.BytesIO(data), len(data), at)


def scan_archive(path: Path, kind: Format) -> list[Finding]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            findings = [f for info in infos for f in _member_findings(info)]
            for info in infos:
                if info.is_dir() or info.flag_bits & 0x1:
                    continue
                if kind is Format.PYTORCH_ZIP:
                    findings += _pytorch_member(archive, info)
                elif kind is Format.NUMPY_ZIP:
                    findings += _npz_member(archive, info)
    except MEMBER_READ_ERRORS as error:
        return [Finding("ZIP001", Severity.ERROR, f"archive cannot be read: {error}", Location(offset=0))]
    if kind is Format.PYTORCH_ZIP and not any(i.filename.endswith(".pkl") for i in infos):
        findings.append(Finding("ZIP005", Severity.ERROR, "PyTorch archive holds no pickle to analyse"))
    if kind is Format.ZIP:
        findings.append(
            Finding(
                "ZIP005",
                Severity.ERROR,
                "zip archive holds neither a PyTorch checkpoint nor NumPy arrays; its content was not analysed",
            )
        )
    return findings
