"""GGUF LoRA adapters: written and read back, applied by llama.cpp, scanned, and refused on another base."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from control_support import ablation_adapter, store_with_adapter, unit_vector, uptake
from uptake.control.edit import build_edits
from uptake.control.lora import is_adapter, read_adapter
from uptake.control.weights import OutputWeights
from uptake.engines.base import GenerationRequest
from uptake.engines.llamacpp import LlamaCppEngine
from uptake.errors import UsageError
from uptake.models.resolve import resolve_model
from uptake.models.store import AdapterStore, Store

REQUESTS = [GenerationRequest.from_prompt(text, temperature=0, max_tokens=4) for text in ("hello there", "the answer")]


def test_an_adapter_round_trips_with_its_lineage(tiny_gguf: Path, tmp_path: Path) -> None:
    weights = OutputWeights(tiny_gguf)
    direction = unit_vector(64)
    path = ablation_adapter(tiny_gguf, tmp_path / "a.gguf", direction, weight=0.7, lineage={"base": {"sha256": "x"}})
    assert is_adapter(path) and not is_adapter(tiny_gguf)
    adapter = read_adapter(path)
    assert adapter.lineage == {"base": {"sha256": "x"}}
    assert adapter.architecture == "llama"
    assert adapter.alpha == 1.0
    assert sorted(adapter.edits) == sorted(
        f"blk.{layer}.{part}.weight" for layer in range(weights.layers) for part in ("attn_output", "ffn_down")
    )
    for name, edit in adapter.edits.items():
        layer, part = int(name.split(".")[1]), name.split(".")[2]
        matrix = weights.get(layer, part)
        assert edit.a.shape == (1, matrix.shape[1]) and edit.b.shape == (matrix.shape[0], 1)
        # The edit removes 70% of what the block writes along the direction, and nothing else.
        edited = matrix + edit.delta()
        assert np.allclose(direction @ edited, 0.3 * (direction @ matrix), atol=1e-5)
        other = unit_vector(64, seed=5)
        other -= (other @ direction) * direction
        assert np.allclose(other @ edited, other @ matrix, atol=1e-5)


def test_a_file_that_is_not_an_adapter_is_refused(tiny_gguf: Path) -> None:
    with pytest.raises(UsageError, match="not a GGUF LoRA adapter"):
        read_adapter(tiny_gguf)


def test_llama_cpp_applies_the_adapter_to_every_context_and_removes_it_again(tiny_gguf: Path, tmp_path: Path) -> None:
    direction = unit_vector(64, seed=3)
    adapter = ablation_adapter(tiny_gguf, tmp_path / "a.gguf", direction)
    engine = LlamaCppEngine(tiny_gguf, context_size=256, threads=1, parallel=2)
    try:
        before = engine.probe(REQUESTS)
        assert before[0].activations.shape == (2, 64)
        # The probe's logits are llama-cpp-python's own for the same prompt.
        tokens = engine.tokenize_prompt(REQUESTS[0])
        engine._llm.reset()
        engine._llm.eval(tokens)
        import llama_cpp

        pointer = llama_cpp.llama_get_logits_ith(engine._llm._ctx.ctx, -1)
        own = np.ctypeslib.as_array(pointer, shape=before[0].logits.shape)
        assert np.allclose(before[0].logits, own, atol=1e-3)
        engine.swap_adapter(adapter)
        after = engine.probe(REQUESTS)
        # No block writes along the direction any more: what lies along it is the embedding's part alone,
        # the same after every block; before the edit, the blocks changed it.
        along_after = after[0].activations @ direction
        along_before = before[0].activations @ direction
        assert abs(along_after[0] - along_after[1]) < 1e-3
        assert abs(along_before[0] - along_before[1]) > 1e-3
        assert not np.allclose(after[0].logits, before[0].logits)
        engine.swap_adapter(None)
        again = engine.probe(REQUESTS)
        assert np.allclose(again[0].activations, before[0].activations, atol=1e-5)
        assert np.allclose(again[1].logits, before[1].logits, atol=1e-4)
    finally:
        engine.close()


def test_an_adapter_with_no_edits_cannot_be_written(tiny_gguf: Path, tmp_path: Path) -> None:
    from control_support import full_plan
    from uptake.control.lora import write_adapter

    weights = OutputWeights(tiny_gguf)
    edits = build_edits(unit_vector(64), full_plan(weights.layers, weight=0.0), weights)
    with pytest.raises(UsageError, match="at least one"):
        write_adapter(tmp_path / "none.gguf", architecture="llama", edits=edits, lineage={})
    assert not list(tmp_path.glob("*"))  # nothing half-written left behind


@pytest.fixture
def two_bases(tmp_path: Path) -> tuple[str, str]:
    """Two tiny models in the store, and an adapter made for the first."""
    return store_with_adapter(tmp_path)


def test_an_adapter_resolves_on_its_own_base_and_is_refused_on_another(two_bases: tuple[str, str]) -> None:
    first, second = two_bases
    resolved = resolve_model(f"{first}+edit", pull=False)
    assert resolved.adapter is not None and resolved.adapter.name == "edit"
    assert resolved.name == "first+edit"
    with pytest.raises(UsageError, match="made for the model"):
        resolve_model(f"{second}+edit", pull=False)
    with pytest.raises(UsageError, match="no adapter named 'missing'"):
        resolve_model(f"{first}+missing", pull=False)


def test_the_installed_command_runs_with_an_adapter_and_refuses_a_foreign_one(
    two_bases: tuple[str, str], uptake_home: Path
) -> None:
    first, second = two_bases
    plain = uptake("run", first, "hello", "--max-tokens", "6", "--temperature", "0", "--json", home=uptake_home)
    edited = uptake("run", first, "hello", "--adapter", "edit", "--max-tokens", "6", "--temperature", "0",
                        "--json", home=uptake_home)
    assert plain.returncode == 0 and edited.returncode == 0, edited.stderr
    assert json.loads(plain.stdout)["adapter"] is None
    assert json.loads(edited.stdout)["adapter"]["name"] == "edit"
    refused = uptake("run", second, "hello", "--adapter", "edit", home=uptake_home)
    assert refused.returncode == 2
    assert "made for the model" in refused.stderr and "Traceback" not in refused.stderr
    listed = uptake("control", "list", "--json", home=uptake_home)
    assert [entry["use_as"] for entry in json.loads(listed.stdout)] == ["first+edit"]


def test_the_scan_reports_an_adapter_and_its_base(two_bases: tuple[str, str], tmp_path: Path,
                                                  uptake_home: Path) -> None:
    adapter = AdapterStore(Store()).resolve("edit")
    report = json.loads(uptake("scan", str(adapter.path), "--json", home=uptake_home).stdout)
    rules = {finding["rule"]: finding for finding in report["files"][0]["findings"]}
    assert rules["ADPT001"]["evidence"] == adapter.base_sha256
    orphan = ablation_adapter(Store().get("first").path, tmp_path / "orphan.gguf", unit_vector(64),  # type: ignore[union-attr]
                              lineage={"kind": "test"})
    scanned = uptake("scan", str(orphan), "--json", home=uptake_home)
    assert scanned.returncode == 1
    assert "ADPT002" in {finding["rule"] for finding in json.loads(scanned.stdout)["files"][0]["findings"]}
    refused = uptake("run", "first", "hi", "--adapter", str(orphan), home=uptake_home)
    assert refused.returncode == 2 and "records no base model" in refused.stderr
