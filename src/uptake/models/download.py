"""Resumable HTTP downloads that hash as they stream, and the progress seam the CLI plugs into."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

import httpx

from uptake.errors import DownloadError, HashMismatchError

CHUNK = 1 << 20


class Progress(Protocol):
    def start(self, description: str, total: int | None) -> None: ...

    def advance(self, count: int) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def finish(self) -> None:
        pass


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress.advance(len(chunk))
    return digest.hexdigest()


def _hash_existing(path: Path) -> tuple[hashlib._Hash, int]:
    digest = hashlib.sha256()
    size = 0
    if path.exists():
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    return digest, size


def download(
    client: httpx.Client,
    url: str,
    partial: Path,
    *,
    progress: Progress,
    description: str,
    expected_sha256: str = "",
    headers: dict[str, str] | None = None,
) -> str:
    """Download `url` into `partial`, resuming what an earlier try left there. Returns the sha256.

    The file stays at `partial` (the caller renames it into place once it trusts it). A server that
    ignores the Range header makes us restart from zero rather than append a second copy.
    """
    partial.parent.mkdir(parents=True, exist_ok=True)
    digest, have = _hash_existing(partial)
    request_headers = dict(headers or {})
    if have:
        request_headers["Range"] = f"bytes={have}-"
    try:
        with client.stream("GET", url, headers=request_headers, follow_redirects=True) as response:
            if response.status_code == 416 and have:
                # Already complete: the server has nothing past what we hold.
                return _verified(partial, digest.hexdigest(), expected_sha256, description)
            if response.status_code not in (200, 206):
                raise DownloadError(f"{url} answered HTTP {response.status_code}")
            if response.status_code == 200 and have:
                digest, have = hashlib.sha256(), 0
            length = response.headers.get("content-length")
            total = have + int(length) if length and length.isdigit() else None
            progress.start(description, total)
            progress.advance(have)
            with open(partial, "ab" if have else "wb") as handle:
                for chunk in response.iter_bytes():  # as received, so a cut keeps what arrived
                    handle.write(chunk)
                    digest.update(chunk)
                    progress.advance(len(chunk))
                handle.flush()
                os.fsync(handle.fileno())
            progress.finish()
    except httpx.HTTPError as error:
        raise DownloadError(f"download of {url} failed ({error}); run the same command again to resume") from error
    return _verified(partial, digest.hexdigest(), expected_sha256, description)


def _verified(partial: Path, actual: str, expected: str, description: str) -> str:
    if expected and actual != expected:
        partial.unlink(missing_ok=True)
        raise HashMismatchError(description, expected, actual)
    return actual
