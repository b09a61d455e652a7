"""Checks on zip-based model files: PyTorch checkpoints (data.pkl + raw storages), NumPy .npz archives,
Keras v3 files, and any zip that holds a pickle.

Members are read the way loaders read them: by the central directory's offsets, ignoring what loaders
ignore (CRC, local-header names and flag bits), so tampering that breaks Python's zipfile does not hide
a pickle. Every member whose content is a pickle is analysed, whatever its name; tampering is its own
finding, dangerous when the tampered member is a pickle. Tensor storages are only sniffed, never extracted.
Member names that climb out of the archive (`../`) are dangerous: an extracting loader writes where they point.
"""

from __future__ import annotations

import bz2
import io
import re
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from uptake.scan.checks.keras import scan_keras_zip
from uptake.scan.checks.numpy import NPY_HEADER_ERRORS, check_npy_stream, read_npy_header
from uptake.scan.checks.pickle import check_pickle_stream
from uptake.scan.checks.pickle_ops import SNIFF_BYTES, looks_like_pickle
from uptake.scan.report import Finding, Location, Severity
from uptake.scan.sniff import Format

MAX_MEMBER_BYTES = 1 << 30  # pickles in checkpoints are small; the tensors live in other members
HEADER_READ_BYTES = 1 << 20  # enough for any .npy header (numpy caps them at 100k characters)
LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
SUSPICIOUS_FLAGS = 0x1 | 0x20 | 0x40  # encrypted, patched data, strong encryption
STORAGE_NAME = re.compile(r"(^|/)data/\d+$")  # PyTorch tensor storages: raw bytes, never unpickled
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


def _raw_member(handle: BinaryIO, info: zipfile.ZipInfo, limit: int) -> tuple[bytes, list[str]]:
    """A member's content read as loaders read it (central directory offsets and sizes, no CRC check),
    at most `limit` bytes, with what its headers disagree on. Raises ValueError when it cannot be read."""
    handle.seek(info.header_offset)
    header = handle.read(LOCAL_HEADER.size)
    if len(header) < LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise ValueError("no local header where the central directory points")
    _sig, _version, flags, _method, _time, _date, _crc, _csize, _usize, name_len, extra_len = LOCAL_HEADER.unpack(
        header
    )
    local_name = handle.read(name_len).decode("utf-8", "replace")
    handle.seek(info.header_offset + LOCAL_HEADER.size + name_len + extra_len)
    whole = limit >= info.file_size
    # Only what is needed: a sniff reads the head of a member, never a whole tensor storage.
    wanted = info.compress_size if whole else min(info.compress_size, limit if info.compress_type == 0 else 1 << 22)
    raw = handle.read(min(wanted, MAX_MEMBER_BYTES))
    tampering = []
    if local_name != info.filename:
        tampering.append(f"its local header names it '{local_name[:80]}'")
    if (flags | info.flag_bits) & SUSPICIOUS_FLAGS:
        tampering.append(f"flag bits {(flags | info.flag_bits) & SUSPICIOUS_FLAGS:#x} (encryption/patch) are set")
    if info.compress_type == zipfile.ZIP_STORED:
        data = raw[:limit]
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        data = zlib.decompressobj(-15).decompress(raw, limit)
    elif info.compress_type == zipfile.ZIP_BZIP2:
        data = bz2.BZ2Decompressor().decompress(raw, limit)
    else:
        raise ValueError(f"compression method {info.compress_type} is not read here")
    if whole and len(data) == info.file_size and zlib.crc32(data) != info.CRC:
        tampering.append("its CRC-32 does not match its content")
    return data, tampering


def _tamper_finding(info: zipfile.ZipInfo, tampering: list[str], holds_pickle: bool) -> Finding:
    what = "; ".join(tampering)
    if holds_pickle:
        return Finding(
            "ZIP006",
            Severity.DANGEROUS,
            f"archive member holds a pickle and its headers were tampered with ({what}): loaders read through "
            "this, scanners that trust the headers do not",
            Location(member=info.filename, offset=info.header_offset),
        )
    return Finding(
        "ZIP006",
        Severity.WARNING,
        f"archive member headers disagree ({what})",
        Location(member=info.filename, offset=info.header_offset),
    )


def _sniffed_member(handle: BinaryIO, info: zipfile.ZipInfo) -> tuple[list[Finding], bool] | None:
    """Findings for a member whose content is a pickle (whatever its name), with any tampering; None when
    the member is not a pickle."""
    at = Location(member=info.filename, offset=info.header_offset)
    try:
        head, tampering = _raw_member(handle, info, SNIFF_BYTES)
    except (ValueError, OSError, zlib.error, EOFError) as error:
        return [Finding("ZIP001", Severity.ERROR, f"archive member cannot be read: {error}", at)], False
    storage = bool(STORAGE_NAME.search(info.filename))
    is_pickle = (head[:1] == b"\x80" and head[1:2] <= b"\x05") if storage else looks_like_pickle(head)
    if not is_pickle:
        if info.flag_bits & 0x1:
            return [Finding("ZIP003", Severity.ERROR, "archive member is encrypted and could not be read", at)], False
        return ([_tamper_finding(info, tampering, False)], False) if tampering else None
    if info.file_size > MAX_MEMBER_BYTES:
        return [
            Finding("ZIP004", Severity.ERROR, f"member of {info.file_size} bytes is too large to analyse", at)
        ], True
    try:
        data, tampering = _raw_member(handle, info, MAX_MEMBER_BYTES)
    except (ValueError, OSError, zlib.error, EOFError) as error:
        return [Finding("ZIP001", Severity.ERROR, f"archive member cannot be read: {error}", at)], True
    findings = [_tamper_finding(info, tampering, True)] if tampering else []
    return findings + check_pickle_stream(io.BytesIO(data), len(data), Location(member=info.filename)), True


def _pytorch_member(info: zipfile.ZipInfo) -> list[Finding]:
    name = info.filename
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
    pickles = 0
    try:
        with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
            infos = archive.infolist()
            findings = [f for info in infos for f in _member_findings(info)]
            if kind is Format.KERAS:
                findings += scan_keras_zip(archive)
            for info in infos:
                if info.is_dir():
                    continue
                sniffed = _sniffed_member(handle, info)
                if sniffed is not None:
                    findings += sniffed[0]
                    pickles += sniffed[1]
                    continue
                if kind is Format.PYTORCH_ZIP:
                    findings += _pytorch_member(info)
                elif kind is Format.NUMPY_ZIP:
                    findings += _npz_member(archive, info)
    except MEMBER_READ_ERRORS as error:
        return [Finding("ZIP001", Severity.ERROR, f"archive cannot be read: {error}", Location(offset=0))]
    if kind is Format.PYTORCH_ZIP and not pickles:
        findings.append(Finding("ZIP005", Severity.ERROR, "PyTorch archive holds no pickle to analyse"))
    if kind is Format.ZIP and not pickles:
        findings.append(
            Finding(
                "ZIP005",
                Severity.ERROR,
                "zip archive holds neither a pickle, a PyTorch checkpoint nor NumPy arrays; its content was not "
                "analysed",
            )
        )
    return findings
