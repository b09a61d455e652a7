"""Tell a model file's format from its first bytes, not from its name.

A renamed file must not slip past a check: a pickle called `model.safetensors` is still a pickle,
and the scanner treats it as one (and says that the name lies).
"""

from __future__ import annotations

import struct
import zipfile
from enum import StrEnum
from pathlib import Path

from uptake.scan.checks.compressed import compression_of
from uptake.scan.checks.pickle_ops import SNIFF_BYTES, looks_like_pickle

ONNX_FIELD_TAGS = {0x12, 0x1A, 0x22, 0x2A, 0x32, 0x3A, 0x42, 0x52, 0x5A, 0x72, 0x7A}


class Format(StrEnum):
    GGUF = "gguf"
    SAFETENSORS = "safetensors"
    PYTORCH_ZIP = "pytorch-zip"
    PICKLE = "pickle"
    NUMPY = "numpy"
    NUMPY_ZIP = "numpy-zip"
    ONNX = "onnx"
    ZIP = "zip"  # an archive that is neither a PyTorch checkpoint nor an .npz
    HDF5 = "hdf5"
    KERAS = "keras"  # a Keras v3 zip: config.json, metadata.json, model.weights.h5
    SEVENZIP = "7z"
    COMPRESSED = "compressed"  # zlib, gzip, bz2, xz or lzma: joblib's compressed pickles
    JSON = "json"
    JINJA = "jinja"
    PYTHON = "python"
    HF_FOLDER = "hf-folder"
    FOLDER = "folder"
    UNKNOWN = "unknown"


# What a file name suggests; used only to say when the name and the content disagree.
FORMATS_BY_SUFFIX: dict[str, frozenset[Format]] = {
    ".gguf": frozenset({Format.GGUF}),
    ".safetensors": frozenset({Format.SAFETENSORS}),
    ".bin": frozenset({Format.PICKLE, Format.PYTORCH_ZIP}),
    ".pt": frozenset({Format.PICKLE, Format.PYTORCH_ZIP}),
    ".pth": frozenset({Format.PICKLE, Format.PYTORCH_ZIP}),
    ".ckpt": frozenset({Format.PICKLE, Format.PYTORCH_ZIP}),
    ".pkl": frozenset({Format.PICKLE, Format.PYTORCH_ZIP}),
    ".pickle": frozenset({Format.PICKLE}),
    ".npy": frozenset({Format.NUMPY}),
    ".npz": frozenset({Format.NUMPY_ZIP}),
    ".7z": frozenset({Format.SEVENZIP}),
    ".onnx": frozenset({Format.ONNX}),
    ".h5": frozenset({Format.HDF5}),
    ".hdf5": frozenset({Format.HDF5}),
    ".keras": frozenset({Format.KERAS}),
    ".json": frozenset({Format.JSON}),
    ".jinja": frozenset({Format.JINJA}),
}
MODEL_SUFFIXES = frozenset(FORMATS_BY_SUFFIX) - {".json", ".jinja"} | {
    ".msgpack",
    ".pb",
    ".tflite",
    ".joblib",
    ".dill",
    ".p",
    ".sav",
    ".dat",
}
NAMED_FALLBACKS = {
    ".gguf": Format.GGUF,
    ".safetensors": Format.SAFETENSORS,
    ".npy": Format.NUMPY,
    ".onnx": Format.ONNX,
}
PICKLE_PROTOCOL_OPCODE = 0x80
LARGE_SNIFF_BYTES = 1 << 22


def _is_safetensors(head: bytes) -> bool:
    if len(head) < 9:
        return False
    (header_size,) = struct.unpack("<Q", head[:8])
    # The JSON header starts right after its length. A declared length that cannot fit is still
    # recognised here, so that the safetensors checks can say what is wrong with it.
    return head[8:9] == b"{" and header_size >= 2


def _is_onnx(head: bytes) -> bool:
    # An ONNX ModelProto starts with field 1 (ir_version, a small varint), then another known field.
    return len(head) >= 3 and head[0] == 0x08 and 1 <= head[1] <= 30 and head[2] in ONNX_FIELD_TAGS


def _zip_format(path: Path) -> Format:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return Format.ZIP
    if "config.json" in names and "metadata.json" in names:
        return Format.KERAS
    if any(name.endswith(".pkl") for name in names):
        return Format.PYTORCH_ZIP
    if names and all(name.endswith(".npy") for name in names):
        return Format.NUMPY_ZIP
    return Format.ZIP


def sniff_bytes(head: bytes) -> Format:
    """Format from the first bytes alone (archives come back as ZIP; `sniff_file` looks inside)."""
    if head[:4] == b"GGUF":
        return Format.GGUF
    if head[:6] == b"\x93NUMPY":
        return Format.NUMPY
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return Format.ZIP
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return Format.SEVENZIP
    # HDF5 may keep a user block of 512, 1024, 2048... bytes before its signature.
    if any(head[at : at + 8] == b"\x89HDF\r\n\x1a\n" for at in (0, 512, 1024, 2048, 4096, 8192)):
        return Format.HDF5
    if _is_safetensors(head):
        return Format.SAFETENSORS
    if len(head) >= 2 and head[0] == PICKLE_PROTOCOL_OPCODE and head[1] <= 5:
        return Format.PICKLE
    if _is_onnx(head):
        return Format.ONNX
    if compression_of(head) is not None:
        return Format.COMPRESSED
    # Protocol 0 and 1 pickles have no header: whatever their first opcode, they decode as a pickle.
    if looks_like_pickle(head, complete=len(head) < SNIFF_BYTES):
        return Format.PICKLE
    return Format.UNKNOWN


def sniff_file(path: Path) -> Format:
    """Format of one file. Raises OSError when it cannot be opened."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    found = sniff_bytes(head)
    if found is Format.UNKNOWN and len(head) == SNIFF_BYTES:
        # A protocol 0/1 pickle may open with a value larger than the window: look further.
        with open(path, "rb") as handle:
            head = handle.read(LARGE_SNIFF_BYTES)
        found = Format.PICKLE if looks_like_pickle(head, complete=len(head) < LARGE_SNIFF_BYTES) else found
    # A zip is found from its end, so bytes put before it do not hide it (zip readers skip them).
    if found is Format.ZIP or (found is Format.UNKNOWN and zipfile.is_zipfile(path)):
        return _zip_format(path)
    if found is not Format.UNKNOWN:
        return found
    suffix = path.suffix.lower()
    # Content unrecognised but the name promises a format: run that format's checks, which say
    # precisely why the file is not one (the verdict is then unreadable, never clean).
    if suffix in NAMED_FALLBACKS:
        return NAMED_FALLBACKS[suffix]
    text_formats = {".json": Format.JSON, ".jinja": Format.JINJA, ".py": Format.PYTHON}
    return text_formats.get(suffix, Format.UNKNOWN)


def name_disagrees(path: Path, found: Format) -> bool:
    """Whether the file's suffix promises a different format than its content."""
    expected = FORMATS_BY_SUFFIX.get(path.suffix.lower())
    return expected is not None and found is not Format.UNKNOWN and found not in expected


def is_hf_folder(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in ("config.json", "tokenizer_config.json"))
