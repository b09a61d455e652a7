"""Checks on a safetensors file: header size, JSON, duplicate keys, dtype x shape against byte ranges.

The format is an 8-byte little-endian header length, a JSON header, then raw tensor bytes. Only the
header is read. The official loader refuses most of what is an `error` here; other loaders are less
careful, so overlaps and duplicate keys (which let two readers see different weights) are `dangerous`.
Written by hand because the `safetensors` package stops at the first problem with no location.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uptake.scan.report import Finding, Location, Severity

MAX_HEADER_BYTES = 100_000_000  # the limit of the official loader
MAX_METADATA_VALUE = 1 << 20
METADATA_KEY = "__metadata__"
DTYPE_BITS = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "I64": 64,
    "U64": 64,
    "F64": 64,
    "C64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}


@dataclass(frozen=True)
class _Tensor:
    name: str
    begin: int
    end: int


class _DuplicateKeys:
    """json object hook that keeps the last value (as json does) and remembers repeated keys."""

    def __init__(self) -> None:
        self.repeated: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                self.repeated.append(key)
            result[key] = value
        return result


def _error(rule: str, message: str, **where: Any) -> Finding:
    return Finding(rule, Severity.ERROR, message, Location(**where))


def _read_header(path: Path, size: int) -> tuple[bytes, int] | Finding:
    if size < 8:
        return _error("ST001", f"file is {size} bytes, too short for a safetensors header length", offset=0)
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        if length > MAX_HEADER_BYTES:
            return _error("ST002", f"header claims {length} bytes, beyond the {MAX_HEADER_BYTES}-byte limit", offset=0)
        if 8 + length > size:
            return _error("ST001", f"header claims {length} bytes but the file ends at {size}: truncated", offset=0)
        return handle.read(length), length


def _parse_header(raw: bytes) -> tuple[dict[str, Any], list[str]] | Finding:
    hook = _DuplicateKeys()
    try:
        parsed = json.loads(raw.decode("utf-8"), object_pairs_hook=hook)
    except UnicodeDecodeError as error:
        return _error("ST003", f"header is not UTF-8 text (byte {error.start})", offset=8 + error.start)
    except json.JSONDecodeError as error:
        return _error("ST003", f"header is not valid JSON: {error.msg}", offset=8 + error.pos)
    except RecursionError:
        return _error("ST003", "header JSON nests too deeply to read", offset=8)
    if not isinstance(parsed, dict):
        return _error("ST003", "header is JSON but not an object", offset=8)
    return parsed, hook.repeated


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tensor(name: str, entry: Any, data_size: int) -> tuple[_Tensor | None, list[Finding]]:
    """The tensor's byte range (None when the entry is malformed) and what is wrong with the entry."""
    at = {"tensor": name}
    if not isinstance(entry, dict):
        return None, [_error("ST004", "tensor entry is not an object", **at)]
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        return None, [_error("ST004", f"unknown dtype {dtype!r}", **at)]
    if not isinstance(shape, list) or not all(_is_count(dim) for dim in shape):
        return None, [_error("ST004", f"shape {shape!r} is not a list of non-negative integers", **at)]
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_count(o) for o in offsets)
        or offsets[0] > offsets[1]
    ):
        return None, [_error("ST004", f"data_offsets {offsets!r} is not an ordered [begin, end] pair", **at)]
    begin, end = offsets
    findings = []
    elements = 1
    for dim in shape:
        elements *= dim
    expected_bits = elements * DTYPE_BITS[dtype]
    if expected_bits != (end - begin) * 8:
        findings.append(
            _error(
                "ST005", f"{dtype} x {shape} needs {expected_bits / 8:g} bytes but the entry spans {end - begin}", **at
            )
        )
    if end > data_size:
        findings.append(
            _error("ST006", f"tensor data ends at {end}, past the {data_size} bytes of data in the file", **at)
        )
    return _Tensor(name, begin, end), findings


def _metadata_findings(metadata: Any) -> list[Finding]:
    at = {"key": METADATA_KEY}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        return [_error("ST004", "__metadata__ must map text to text", **at)]
    return [
        Finding("ST009", Severity.WARNING, f"metadata value of {len(value)} characters", Location(key=key))
        for key, value in metadata.items()
        if len(value) > MAX_METADATA_VALUE
    ]


def _layout_findings(tensors: list[_Tensor], data_size: int, data_start: int) -> list[Finding]:
    findings = []
    covered = 0
    previous: _Tensor | None = None
    for tensor in sorted(tensors, key=lambda t: (t.begin, t.end)):
        if tensor.begin < covered and tensor.end > tensor.begin and previous is not None:
            findings.append(
                Finding(
                    "ST007",
                    Severity.DANGEROUS,
                    f"tensor bytes overlap '{previous.name}'; the same bytes serve two tensors",
                    Location(tensor=tensor.name, offset=data_start + tensor.begin),
                )
            )
        elif tensor.begin > covered:
            findings.append(
                Finding(
                    "ST008",
                    Severity.WARNING,
                    f"{tensor.begin - covered} unexplained bytes before this tensor (room for hidden content)",
                    Location(tensor=tensor.name, offset=data_start + covered),
                )
            )
        if tensor.end >= covered:
            covered, previous = tensor.end, tensor
    if data_size > covered:
        findings.append(
            Finding(
                "ST010",
                Severity.WARNING,
                f"{data_size - covered} bytes follow the last tensor (appended content)",
                Location(offset=data_start + covered),
            )
        )
    return findings


def scan_safetensors(path: Path) -> list[Finding]:
    size = path.stat().st_size
    read = _read_header(path, size)
    if isinstance(read, Finding):
        return [read]
    raw, length = read
    parsed = _parse_header(raw)
    if isinstance(parsed, Finding):
        return [parsed]
    header, repeated = parsed
    findings = [
        Finding(
            "ST011",
            Severity.DANGEROUS,
            f"header key '{key}' appears more than once; loaders disagree on which entry wins",
            Location(key=key),
        )
        for key in dict.fromkeys(repeated)
    ]
    data_size = size - 8 - length
    tensors: list[_Tensor] = []
    for name, entry in header.items():
        if name == METADATA_KEY:
            findings += _metadata_findings(entry)
            continue
        tensor, problems = _tensor(name, entry, data_size)
        findings += problems
        if tensor is not None:
            tensors.append(tensor)
    findings += _layout_findings(tensors, data_size, 8 + length)
    return findings
