"""`uptake pull` and `uptake import` scan first and refuse a dangerous file unless forced; `show` tells
the last scan. End to end: real processes for import, a local file server for pull."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from artifact_builders import catalog_entry_for

from http_server import serve_files
from tiny_gguf import write_tiny_gguf
from uptake.errors import BlockedModelError
from uptake.models.catalog import Source
from uptake.models.pull import pull_model
from uptake.models.store import Store
from uptake.scan.gate import scan_gate
from uptake.settings import Settings

HOSTILE_TEMPLATE = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


def uptake(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uptake", *args], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gate") / "hostile.gguf", chat_template=HOSTILE_TEMPLATE)


def test_import_refuses_a_dangerous_file_then_force_registers_it(hostile: Path) -> None:
    refused = uptake("import", str(hostile), "--name", "hostile")
    assert refused.returncode == 2
    assert "dangerous" in refused.stderr and "TPL002" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert json.loads(uptake("list", "--json").stdout) == []

    forced = uptake("import", str(hostile), "--name", "hostile", "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    shown = json.loads(uptake("show", "hostile", "--json").stdout)
    assert shown["last_scan"]["verdict"] == "dangerous"
    assert any(f["rule"] == "TPL002" for f in shown["last_scan"]["files"][0]["findings"])


def test_import_of_a_clean_file_keeps_its_scan(tmp_path: Path) -> None:
    clean = write_tiny_gguf(tmp_path / "clean.gguf")
    assert uptake("import", str(clean), "--name", "clean").returncode == 0
    shown = json.loads(uptake("show", "clean", "--json").stdout)
    assert shown["last_scan"]["verdict"] == "clean"


def test_pull_refuses_a_dangerous_file_and_registers_nothing(hostile: Path, uptake_home: Path) -> None:
    data = hostile.read_bytes()
    source = Source(kind="huggingface", repo="org/tiny-GGUF", file="tiny.gguf")
    entry = replace(catalog_entry_for(hostile, chat_template=None), sources=(source,))
    with serve_files() as server:
        server.files["/org/tiny-GGUF/resolve/main/tiny.gguf"] = data
        store = Store(Settings(home=uptake_home, hf_endpoint=server.base_url))
        with pytest.raises(BlockedModelError, match="dangerous"):
            pull_model(store, entry.name, entry=entry, gate=scan_gate(force=False))
        assert store.list() == [] and not store.blob_path(hashlib.sha256(data).hexdigest()).exists()
        model, _ = pull_model(store, entry.name, entry=entry, gate=scan_gate(force=True))
    scan = store.last_scan(model.sha256)
    assert scan is not None and scan["verdict"] == "dangerous"
    assert scan["files"][0]["provenance"]["status"] == "matches"
