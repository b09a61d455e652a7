"""Reading a GGUF header from a hub with range requests, against a loopback server in the hub's URL layout."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from http_server import FileServer, serve_files
from uptake.errors import DownloadError
from uptake.fit.recommend import ShapeResolver
from uptake.fit.remote import read_remote_header, remote_shape
from uptake.fit.shape import shape_from_header
from uptake.models.catalog import CatalogEntry, Source
from uptake.models.gguf_header import read_gguf_header
from uptake.settings import Settings

REPO = "tiny-org/Tiny-GGUF"
FILE = "tiny-q.gguf"


def entry(name: str = "tiny:1m") -> CatalogEntry:
    return CatalogEntry(
        name=name,
        family="tiny",
        description="tiny",
        architecture="llama",
        parameters=1_000,
        quantization="F32",
        context_length=2048,
        license="MIT",
        publisher="test",
        publisher_country="US",
        size_bytes=1,
        sha256="",
        sources=(Source(kind="huggingface", repo=REPO, file=FILE),),
        header={
            "block_count": 2,
            "embedding_length": 64,
            "feed_forward_length": 128,
            "head_count": 4,
            "head_count_kv": 2,
            "vocab_size": 267,
        },
    )


def ranges(server: FileServer) -> list[str]:
    return [headers.get("Range", "") for path, headers in server.requests if path.endswith(FILE)]


def test_the_header_comes_from_a_prefix_not_the_whole_file(tiny_gguf: Path) -> None:
    data = tiny_gguf.read_bytes()
    local = read_gguf_header(tiny_gguf)
    with serve_files(FileServer(files={f"/{REPO}/resolve/main/{FILE}": data})) as server, httpx.Client() as client:
        url = f"{server.base_url}/{REPO}/resolve/main/{FILE}"
        header, total = read_remote_header(client, url, first_bytes=1024, max_bytes=len(data))
        asked = ranges(server)
    assert total == len(data)
    assert [t.name for t in header.tensors] == [t.name for t in local.tensors]
    assert header.data_offset == local.data_offset
    # 1 KiB is too short for the vocabulary, so the range grew until the header parsed.
    assert asked[0] == "bytes=0-1023" and len(asked) >= 2
    assert all(r.startswith("bytes=0-") for r in asked)
    assert int(asked[-1].rsplit("-", 1)[1]) + 1 < len(data)


def test_remote_shape_matches_the_local_file_and_is_cached(tiny_gguf: Path, tmp_path: Path) -> None:
    files = {f"/{REPO}/resolve/main/{FILE}": tiny_gguf.read_bytes()}
    with serve_files(FileServer(files=files)) as server, httpx.Client() as client:
        settings = Settings(home=tmp_path, hf_endpoint=server.base_url)
        shape = remote_shape(entry(), settings, client)
        again = remote_shape(entry(), settings, client)
        requests = len(server.requests)
    local = shape_from_header(read_gguf_header(tiny_gguf), name="tiny:1m", basis="remote")
    assert shape == local == again
    assert requests == 1, "the second call must come from the cache"


def test_a_missing_file_is_a_download_error(tmp_path: Path) -> None:
    with serve_files() as server, httpx.Client() as client:
        settings = Settings(home=tmp_path, hf_endpoint=server.base_url)
        with pytest.raises(DownloadError, match="404"):
            remote_shape(entry(), settings, client)


def test_bytes_that_are_not_gguf_are_refused(tmp_path: Path) -> None:
    files = {f"/{REPO}/resolve/main/{FILE}": b"<html>not a model</html>" * 100}
    with (
        serve_files(FileServer(files=files)) as server,
        httpx.Client() as client,
        pytest.raises(DownloadError, match="GGUF"),
    ):
        read_remote_header(client, f"{server.base_url}/{REPO}/resolve/main/{FILE}")


def test_resolver_falls_back_to_the_catalog_when_the_hub_is_down(tmp_path: Path) -> None:
    with serve_files() as server:
        settings = Settings(home=tmp_path, hf_endpoint=server.base_url)
        resolver = ShapeResolver(settings)
        first = resolver.shape(entry("tiny:a"))
        second = resolver.shape(entry("tiny:b"))
        resolver.close()
        hub_requests = len(server.requests)
    assert first.basis == second.basis == "catalog"
    assert hub_requests == 1, "after one failure the hub is not asked again"
    assert resolver.notes and "not reachable" in resolver.notes[0]


def test_offline_resolver_never_asks(tmp_path: Path) -> None:
    with serve_files() as server:
        resolver = ShapeResolver(Settings(home=tmp_path, hf_endpoint=server.base_url), offline=True)
        assert resolver.shape(entry()).basis == "catalog"
        assert not server.requests


def test_a_pulled_model_is_read_from_its_own_file(tiny_gguf: Path, tmp_path: Path) -> None:
    from uptake.models.store import Store

    settings = Settings(home=tmp_path)
    Store(settings).import_file(tiny_gguf, name="tiny:1m")
    resolver = ShapeResolver(settings, offline=True)
    shape = resolver.shape(entry())
    assert shape.basis == "file"
    assert shape == shape_from_header(read_gguf_header(tiny_gguf), name="tiny:1m", basis="file")
