"""Compressed containers that loaders open transparently: joblib's zlib, gzip, bz2, lzma and xz files
(and its legacy "ZF" files). `joblib.load` decompresses and unpickles them, so they are decompressed here,
within a bound against decompression bombs, and what is inside is scanned like a file of its own.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from pathlib import Path
from typing import Protocol

from uptake.scan.checks.pickle import check_pickle_bytes
from uptake.scan.checks.pickle_ops import looks_like_pickle
from uptake.scan.report import Finding, Location, Severity

MAX_INFLATED_BYTES = 1 << 30
CHUNK_BYTES = 1 << 20
ZF_HEADER = 21  # joblib < 0.9.3: b"ZF", then the length in hex padded to 19 characters, then zlib


def _zlib(data: bytes) -> bool:
    return len(data) >= 2 and data[0] == 0x78 and data[1] in (0x01, 0x5E, 0x9C, 0xDA)


def compression_of(head: bytes) -> str | None:
    """The compressor a file starts with, if any."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:3] == b"\x5d\x00\x00":
        return "lzma"
    if head[:2] == b"ZF" and _zlib(head[ZF_HEADER:]):
        return "joblib-zf"
    if _zlib(head):
        return "zlib"
    return None


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int, /) -> bytes: ...


def _decompressor(kind: str) -> _Decompressor:
    if kind in ("zlib", "joblib-zf"):
        return zlib.decompressobj()
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor(lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE)


def inflate(path: Path, kind: str, limit: int | None = None) -> bytes:
    """The decompressed content, at most `limit` bytes (ValueError beyond: a bomb or not a model). The file
    is read a chunk at a time, so neither its size nor what it claims to inflate to is ever held at once."""
    limit = MAX_INFLATED_BYTES if limit is None else limit
    decompressor = _decompressor(kind)
    out = bytearray()
    with open(path, "rb") as handle:
        handle.seek(ZF_HEADER if kind == "joblib-zf" else 0)
        while not decompressor.eof and (chunk := handle.read(CHUNK_BYTES)):
            # Asked for at most the room left + 1 bytes, a decompressor never produces more; input it had
            # no room for is only left over once the bound is passed, and then the file is refused.
            out += decompressor.decompress(chunk, limit + 1 - len(out))
            if len(out) > limit:
                raise ValueError(f"inflates beyond {limit} bytes")
    return bytes(out)


def scan_compressed(path: Path, kind: str) -> list[Finding]:
    try:
        data = inflate(path, kind)
    except (ValueError, OSError, EOFError, zlib.error, lzma.LZMAError) as error:
        return [Finding("CMP001", Severity.ERROR, f"{kind} data cannot be decompressed: {str(error)[:160]}")]
    if not looks_like_pickle(data[: 1 << 16]):
        return [
            Finding(
                "CMP002",
                Severity.ERROR,
                f"{kind}-compressed content is not a pickle; uptake does not analyse it, nothing in it was checked",
            )
        ]
    where = Location(member=f"({kind}-decompressed)")
    return check_pickle_bytes(data, where)
