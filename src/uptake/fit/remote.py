"""Read a GGUF header from a model hub with HTTP range requests: a few MB instead of the whole file.

The header (metadata, vocabulary, tensor table) sits at the start of the file. We ask for a prefix and,
while the parser runs out of bytes, ask for a longer one, up to a bound. Shapes read this way are
cached under UPTAKE_HOME, so `uptake fit` asks the hub once per model.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import httpx

from uptake.atomic import write_json_atomically
from uptake.errors import DownloadError
from uptake.fit.shape import ModelShape, shape_from_header
from uptake.models.catalog import CatalogEntry
from uptake.models.gguf_header import GGUFFormatError, GGUFHeader, parse_gguf_header
from uptake.models.sources.hub import hub_url
from uptake.settings import Settings

FIRST_RANGE_BYTES = 4 << 20
# Vocabularies of 250k tokens with merges take about 10 MB; no sane header needs more than this.
MAX_HEADER_BYTES = 64 << 20
CACHE_DIR = Path("fit") / "headers"


def _fetch_prefix(client: httpx.Client, url: str, length: int, headers: dict[str, str]) -> tuple[bytes, int | None]:
    """The first `length` bytes of `url` and the file's total size when the server says it."""
    request_headers = {**headers, "Range": f"bytes=0-{length - 1}"}
    try:
        with client.stream("GET", url, headers=request_headers) as response:
            if response.status_code not in (200, 206):
                raise DownloadError(f"{url} answered HTTP {response.status_code}")
            total = _total_size(response)
            data = bytearray()
            # A server that ignores Range sends the whole file: read only what we asked for.
            for chunk in response.iter_bytes():
                data.extend(chunk)
                if len(data) >= length:
                    break
    except httpx.HTTPError as error:
        raise DownloadError(f"cannot read {url}: {error}") from error
    return bytes(data[:length]), total


def _total_size(response: httpx.Response) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length", "")
    return int(length) if response.status_code == 200 and length.isdigit() else None


def read_remote_header(
    client: httpx.Client,
    url: str,
    *,
    first_bytes: int = FIRST_RANGE_BYTES,
    max_bytes: int = MAX_HEADER_BYTES,
    headers: dict[str, str] | None = None,
) -> tuple[GGUFHeader, int | None]:
    """Parse the header of the GGUF at `url`, growing the range while the parser needs more bytes."""
    length = first_bytes
    while True:
        data, total = _fetch_prefix(client, url, length, headers or {})
        whole = total is not None and len(data) >= total
        try:
            return parse_gguf_header(data, len(data)), total
        except GGUFFormatError as error:
            ran_out = len(data) == length and not whole
            if not ran_out or length >= max_bytes:
                raise DownloadError(f"{url} does not start with a readable GGUF header: {error}") from error
        length = min(length * 4, max_bytes)


def _cache_path(settings: Settings, name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return settings.home / CACHE_DIR / f"{safe}.json"


def cached_remote_shape(settings: Settings, name: str) -> ModelShape | None:
    try:
        raw = json.loads(_cache_path(settings, name).read_text("utf-8"))
        return ModelShape(**raw)
    except (OSError, ValueError, TypeError):
        return None


def _store_shape(settings: Settings, shape: ModelShape) -> None:
    path = _cache_path(settings, shape.name)
    write_json_atomically(path, asdict(shape), indent=None)


def remote_shape(entry: CatalogEntry, settings: Settings, client: httpx.Client) -> ModelShape:
    """The shape of a catalog model from the first hub source that answers. Raises DownloadError."""
    cached = cached_remote_shape(settings, entry.name)
    if cached is not None:
        return cached
    failures: list[str] = []
    for source in entry.sources:
        if source.kind not in ("huggingface", "modelscope", "url"):
            continue
        headers = {"User-Agent": "uptake"}
        token = os.environ.get("HF_TOKEN")
        if token and source.kind == "huggingface":
            headers["Authorization"] = f"Bearer {token}"
        try:
            header, _ = read_remote_header(client, hub_url(source, settings), headers=headers)
        except DownloadError as error:
            failures.append(str(error))
            continue
        shape = shape_from_header(header, name=entry.name, basis="remote")
        _store_shape(settings, shape)
        return shape
    raise DownloadError("; ".join(failures) or f"{entry.name} has no hub source to read a header from")
