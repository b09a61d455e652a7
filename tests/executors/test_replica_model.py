"""What a Ray replica loads: the run's file only when its sha256 matches; on a node without the file, the copy in
the node's store with that hash, checked again; never a file with another hash."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tiny_gguf import write_tiny_gguf
from uptake.errors import UptakeError
from uptake.executors.ray import verified_copy
from uptake.models.download import sha256_file
from uptake.models.resolve import resolve_model
from uptake.models.store import Store


def test_the_file_is_loaded_only_with_the_run_hash(tmp_path: Path) -> None:
    model = resolve_model(str(write_tiny_gguf(tmp_path / "tiny.gguf")), pull=False)
    sha256 = sha256_file(model.path)
    assert verified_copy(model, sha256) is model
    with pytest.raises(UptakeError, match="refusing to load it"):
        verified_copy(model, "0" * 64)


def test_a_node_without_the_file_uses_its_store_copy_after_checking_it(tmp_path: Path) -> None:
    stored = Store().import_file(write_tiny_gguf(tmp_path / "tiny.gguf"), name="tiny")
    elsewhere = replace(resolve_model("tiny", pull=False), path=tmp_path / "not-on-this-node.gguf")
    found = verified_copy(elsewhere, stored.sha256)
    assert found.path == stored.path and sha256_file(found.path) == stored.sha256
    stored.path.write_bytes(stored.path.read_bytes()[:-1] + b"\0")  # the node's copy is not the run's file
    with pytest.raises(UptakeError, match="not the run's"):
        verified_copy(elsewhere, stored.sha256)


def test_a_file_on_no_node_and_in_no_catalog_is_a_clear_error(tmp_path: Path) -> None:
    model = resolve_model(str(write_tiny_gguf(tmp_path / "tiny.gguf")), pull=False)
    gone = replace(model, path=tmp_path / "gone.gguf")
    with pytest.raises(UptakeError, match="copy the file to the same path on every node"):
        verified_copy(gone, sha256_file(model.path))


def test_an_adapter_is_applied_only_with_the_run_hash_and_found_in_the_node_store(tmp_path: Path) -> None:
    from control_support import store_with_adapter

    store_with_adapter(tmp_path)
    model = resolve_model("first+edit", pull=False)
    assert model.adapter is not None
    assert verified_copy(model, model.file_sha256()).adapter == model.adapter
    elsewhere = replace(model, adapter=replace(model.adapter, path=tmp_path / "not-on-this-node.gguf"))
    assert verified_copy(elsewhere, model.file_sha256()).adapter == model.adapter  # the store's copy, same hash
    tampered = replace(model, adapter=replace(model.adapter, sha256="0" * 64))
    with pytest.raises(UptakeError, match="adapter edit on this node has sha256"):
        verified_copy(tampered, model.file_sha256())
    missing = replace(model, adapter=replace(model.adapter, path=tmp_path / "gone.gguf", sha256="1" * 64))
    with pytest.raises(UptakeError, match="copy it to the same path on every node"):
        verified_copy(missing, model.file_sha256())
