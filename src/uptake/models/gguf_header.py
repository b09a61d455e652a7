"""A bounded, streaming reader for the GGUF header: metadata and tensor table, never the weights.

Why not `gguf.GGUFReader`: it builds a numpy view for every array element, which takes ~12 s on a
150k-token vocabulary, and it raises bare exceptions on malformed input. The store reads a header on
every import and the artifact scanner must read hostile files with bounded memory and a precise error,
so this module parses the (simple, documented) layout itself. Type codes and block sizes come from the
`gguf` package, and the tests check this reader against `GGUFReader` field by field.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

from uptake.errors import UptakeError

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
MAX_STRING_BYTES = 64 << 20
MAX_ARRAY_ITEMS = 1 << 26
MAX_TENSORS = 1 << 20
MAX_KEYS = 1 << 20
MAX_DIMS = 8
# String arrays up to this size are kept whole; longer ones are kept only when asked for by key.
SMALL_ARRAY_ITEMS = 4096

_SCALARS: dict[GGUFValueType, str] = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H",
    GGUFValueType.INT16: "<h", GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i",
    GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?", GGUFValueType.UINT64: "<Q",
    GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d",
}


class GGUFFormatError(UptakeError):
    """The bytes do not follow the GGUF layout. `offset` is where reading went wrong."""

    def __init__(self, message: str, offset: int) -> None:
        self.offset = offset
        super().__init__(f"malformed GGUF at byte {offset}: {message}")


@dataclass(frozen=True)
class ArrayValue:
    item_type: GGUFValueType
    count: int
    values: list[Any] | None  # None when the array was skipped to bound memory
    offset: int


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    type_code: int
    offset: int  # relative to the start of the data section
    info_offset: int  # where this entry sits in the file

    @property
    def n_elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def type_name(self) -> str:
        try:
            return GGMLQuantizationType(self.type_code).name
        except ValueError:
            return f"unknown({self.type_code})"

    @property
    def n_bytes(self) -> int | None:
        """Bytes the tensor occupies, or None for a type unknown to ggml or a shape not in whole blocks."""
        try:
            block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(self.type_code)]
        except (ValueError, KeyError):
            return None
        if self.n_elements % block_size:
            return None
        return self.n_elements // block_size * type_size


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any]
    metadata_offsets: dict[str, int]
    tensors: list[TensorInfo]
    alignment: int
    data_offset: int
    file_size: int
    duplicate_keys: list[str] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.metadata.get(key, default)
        if isinstance(value, ArrayValue):
            return value.values
        return value


class _Cursor:
    def __init__(self, buffer: mmap.mmap | bytes, size: int) -> None:
        self.buffer = buffer
        self.size = size
        self.pos = 0

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > self.size:
            raise GGUFFormatError(f"needs {count} bytes but the file ends at {self.size}", self.pos)
        chunk = self.buffer[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def unpack(self, fmt: str) -> Any:
        width = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(width))[0]

    def string(self) -> str:
        start = self.pos
        length = self.unpack("<Q")
        if length > MAX_STRING_BYTES:
            raise GGUFFormatError(f"string of {length} bytes exceeds the {MAX_STRING_BYTES} limit", start)
        raw = self.take(length)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            # Vocabularies may hold raw byte tokens; keep them readable without failing the header.
            return raw.decode("utf-8", errors="surrogateescape")

    def skip_string(self) -> None:
        start = self.pos
        length = self.unpack("<Q")
        if length > MAX_STRING_BYTES:
            raise GGUFFormatError(f"string of {length} bytes exceeds the {MAX_STRING_BYTES} limit", start)
        self.take(length)


def _value_type(code: int, offset: int) -> GGUFValueType:
    try:
        return GGUFValueType(code)
    except ValueError:
        raise GGUFFormatError(f"unknown value type {code}", offset) from None


def _read_value(cursor: _Cursor, value_type: GGUFValueType, keep_all: bool) -> Any:
    if value_type == GGUFValueType.STRING:
        return cursor.string()
    if value_type == GGUFValueType.ARRAY:
        return _read_array(cursor, keep_all)
    return cursor.unpack(_SCALARS[value_type])


def _read_array(cursor: _Cursor, keep_all: bool) -> ArrayValue:
    start = cursor.pos
    item_type = _value_type(cursor.unpack("<I"), start)
    count = cursor.unpack("<Q")
    if count > MAX_ARRAY_ITEMS:
        raise GGUFFormatError(f"array of {count} items exceeds the {MAX_ARRAY_ITEMS} limit", start)
    if item_type == GGUFValueType.ARRAY:
        raise GGUFFormatError("nested arrays are not part of GGUF", start)
    keep = keep_all or count <= SMALL_ARRAY_ITEMS
    if item_type == GGUFValueType.STRING:
        if keep:
            return ArrayValue(item_type, count, [cursor.string() for _ in range(count)], start)
        for _ in range(count):
            cursor.skip_string()
        return ArrayValue(item_type, count, None, start)
    fmt = _SCALARS[item_type]
    width = struct.calcsize(fmt)
    raw = cursor.take(width * count)
    values = list(struct.unpack(f"<{count}{fmt[1]}", raw)) if keep else None
    return ArrayValue(item_type, count, values, start)


def parse_gguf_header(data: mmap.mmap | bytes, size: int, keep_keys: frozenset[str] = frozenset()) -> GGUFHeader:
    """Parse a header from bytes (or a memory map). Raises GGUFFormatError, never anything else."""
    cursor = _Cursor(data, size)
    if cursor.take(4) != MAGIC:
        raise GGUFFormatError("missing 'GGUF' magic", 0)
    version = cursor.unpack("<I")
    if version not in (2, 3):
        raise GGUFFormatError(f"unsupported version {version} (readers know 2 and 3)", 4)
    tensor_count = cursor.unpack("<Q")
    kv_count = cursor.unpack("<Q")
    if tensor_count > MAX_TENSORS or kv_count > MAX_KEYS:
        raise GGUFFormatError(f"implausible counts: {tensor_count} tensors, {kv_count} keys", 8)

    metadata: dict[str, Any] = {}
    offsets: dict[str, int] = {}
    duplicates: list[str] = []
    for _ in range(kv_count):
        key_offset = cursor.pos
        key = cursor.string()
        value_type = _value_type(cursor.unpack("<I"), cursor.pos - 4)
        value = _read_value(cursor, value_type, keep_all=key in keep_keys)
        if key in metadata:
            duplicates.append(key)
        metadata[key] = value
        offsets[key] = key_offset

    tensors: list[TensorInfo] = []
    for _ in range(tensor_count):
        info_offset = cursor.pos
        name = cursor.string()
        n_dims = cursor.unpack("<I")
        if n_dims > MAX_DIMS:
            raise GGUFFormatError(f"tensor '{name}' claims {n_dims} dimensions", info_offset)
        shape = tuple(cursor.unpack("<Q") for _ in range(n_dims))
        type_code = cursor.unpack("<I")
        offset = cursor.unpack("<Q")
        tensors.append(TensorInfo(name, shape, type_code, offset, info_offset))

    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        where = offsets.get("general.alignment", 0)
        raise GGUFFormatError(f"general.alignment {alignment!r} is not a power of two", where)
    data_offset = (cursor.pos + alignment - 1) // alignment * alignment
    return GGUFHeader(version, metadata, offsets, tensors, alignment, data_offset, size, duplicates)


def read_gguf_header(path: Path, keep_keys: frozenset[str] = frozenset()) -> GGUFHeader:
    """Parse the header of a GGUF file through a read-only memory map (pages of weights are never touched)."""
    size = path.stat().st_size
    if size == 0:
        raise GGUFFormatError("empty file", 0)
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        # Slicing an mmap copies just those bytes, so no buffer export outlives the map.
        return parse_gguf_header(mapped, size, keep_keys)
