"""Builders for the scanner's test files. Every hostile fixture is harmless: the pickles only call
`scan_marker.leave_marker`, which writes a file the tests check was never written."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gguf import GGUFValueType
from scan_marker import MarkerCall

from uptake.models.catalog import CatalogEntry, Source
from uptake.models.gguf_header import parse_gguf_header
from uptake.scan import FileReport, Finding, Severity, scan_path

# ---------------------------------------------------------------- GGUF, written byte by byte

_SCALAR_FORMATS = {GGUFValueType.UINT32: "<I", GGUFValueType.UINT64: "<Q", GGUFValueType.INT32: "<i"}
F32 = 0  # ggml type code


def _gguf_string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def _gguf_value(value_type: GGUFValueType, value: Any) -> bytes:
    if value_type == GGUFValueType.STRING:
        return _gguf_string(value)
    return struct.pack(_SCALAR_FORMATS[value_type], value)


@dataclass
class RawTensor:
    name: str
    shape: tuple[int, ...]
    offset: int
    type_code: int = F32


@dataclass
class RawGGUF:
    """A GGUF assembled by hand, for the malformed files no writer would produce."""

    metadata: list[tuple[str, GGUFValueType, Any]] = field(default_factory=list)
    tensors: list[RawTensor] = field(default_factory=list)
    data: bytes = b""
    alignment: int = 32
    version: int = 3

    def header(self) -> bytes:
        out = b"GGUF" + struct.pack("<IQQ", self.version, len(self.tensors), len(self.metadata))
        for key, value_type, value in self.metadata:
            out += _gguf_string(key) + struct.pack("<I", value_type) + _gguf_value(value_type, value)
        for tensor in self.tensors:
            out += _gguf_string(tensor.name) + struct.pack("<I", len(tensor.shape))
            out += b"".join(struct.pack("<Q", dim) for dim in tensor.shape)
            out += struct.pack("<IQ", tensor.type_code, tensor.offset)
        return out

    def to_bytes(self) -> bytes:
        head = self.header()
        padding = -len(head) % self.alignment
        return head + b"\0" * padding + self.data

    def write(self, path: Path) -> Path:
        path.write_bytes(self.to_bytes())
        return path


def two_tensor_gguf(**overrides: Any) -> RawGGUF:
    """A consistent two-tensor F32 GGUF (4 floats each); tests break one thing at a time."""
    raw = RawGGUF(
        metadata=[
            ("general.architecture", GGUFValueType.STRING, "llama"),
            ("general.name", GGUFValueType.STRING, "raw"),
        ],
        tensors=[RawTensor("a.weight", (4,), 0), RawTensor("b.weight", (4,), 32)],
        data=bytes(range(16)) + b"\0" * 16 + bytes(range(16, 32)) + b"\0" * 16,
    )
    for name, value in overrides.items():
        setattr(raw, name, value)
    return raw


def patch_tensor_field(data: bytes, index: int, field_name: str, value: int) -> bytes:
    """Rewrite one field of tensor `index` in a GGUF written by the real writer."""
    header = parse_gguf_header(data, len(data))
    tensor = header.tensors[index]
    position = tensor.info_offset + 8 + len(tensor.name.encode()) + 4
    if field_name == "dim0":
        return data[:position] + struct.pack("<Q", value) + data[position + 8 :]
    position += 8 * len(tensor.shape)
    if field_name == "type":
        return data[:position] + struct.pack("<I", value) + data[position + 4 :]
    position += 4
    return data[:position] + struct.pack("<Q", value) + data[position + 8 :]


# ---------------------------------------------------------------- safetensors


def raw_safetensors(header: dict[str, Any] | bytes, data: bytes) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def f32_entry(begin: int, count: int, shape: list[int] | None = None) -> dict[str, Any]:
    return {"dtype": "F32", "shape": shape or [count], "data_offsets": [begin, begin + 4 * count]}


# ---------------------------------------------------------------- pickles and PyTorch-style archives


def marker_pickle(marker: Path, protocol: int) -> bytes:
    return pickle.dumps(MarkerCall(str(marker)), protocol=protocol)


def _op_global(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def _op_text(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _op_int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def _op_tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def state_dict_pickle(tensors: dict[str, tuple[str, tuple[int, ...]]]) -> bytes:
    """The pickle `torch.save(state_dict)` writes (protocol 2): tensor name -> (storage key, shape).

    Assembled from opcodes because torch is not a test dependency; the globals and the layout of the
    persistent ids are those of torch's own serializer.
    """
    body = b"\x80\x02" + _op_global("collections", "OrderedDict") + b")R"
    for name, (key, shape) in tensors.items():
        numel = 1
        for dim in shape:
            numel *= dim
        strides = [1] * len(shape)
        for axis in range(len(shape) - 2, -1, -1):
            strides[axis] = strides[axis + 1] * shape[axis + 1]
        storage_id = _op_tuple(
            _op_text("storage"), _op_global("torch", "FloatStorage"), _op_text(key), _op_text("cpu"), _op_int(numel)
        )
        arguments = _op_tuple(
            storage_id + b"Q",
            _op_int(0),
            _op_tuple(*map(_op_int, shape)),
            _op_tuple(*map(_op_int, strides)),
            b"\x89",
            _op_global("collections", "OrderedDict") + b")R",
        )
        body += _op_text(name) + _op_global("torch._utils", "_rebuild_tensor_v2") + arguments + b"Rs"
    return body + b"."


def pytorch_zip(pickle_bytes: bytes, storages: dict[str, bytes], extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/byteorder", "little")
        for key, data in storages.items():
            archive.writestr(f"archive/data/{key}", data)
        archive.writestr("archive/version", "3\n")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


# ---------------------------------------------------------------- catalog entries for provenance tests


def catalog_entry_for(
    path: Path,
    *,
    sha256: str | None = None,
    chat_template: str | None = "qwen2.5",
    header: dict[str, int] | None = None,
) -> CatalogEntry:
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if sha256 is None else sha256
    return CatalogEntry(
        name="tiny:test",
        family="tiny",
        description="test model",
        architecture="llama",
        parameters=1,
        quantization="F32",
        context_length=2048,
        license="Apache-2.0",
        publisher="Tests Inc",
        publisher_country="ZZ",
        size_bytes=path.stat().st_size,
        sha256=digest,
        sources=(Source(kind="url", url="http://127.0.0.1/x"),),
        chat_template=chat_template,
        header=header or {},
    )


# ---------------------------------------------------------------- assertions


def fires(findings: list[Finding], rule: str, severity: Severity | None = None) -> Finding:
    """The first finding of `rule` (and `severity`, when given); fails the test when there is none."""
    matching = [f for f in findings if f.rule == rule and (severity is None or f.severity is severity)]
    assert matching, f"{rule} did not fire; found {[(f.rule, f.severity.value, f.message) for f in findings]}"
    return matching[0]


def quiet(findings: list[Finding]) -> None:
    """Nothing above `info`: the file is clean."""
    loud = [(f.rule, f.severity.value, f.message) for f in findings if f.severity is not Severity.INFO]
    assert not loud, f"expected a clean result, found {loud}"


def scan_one(path: Path, **options: Any) -> FileReport:
    report = scan_path(path, **options)
    assert len(report.files) == 1
    return report.files[0]
