"""`uptake control decensor` end to end on a tiny model, as a user runs it: an adapter in the store with its
lineage, a search that resumes, and the selective edit that keeps the harm subspace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from control_support import uptake
from tiny_gguf import write_tiny_gguf
from uptake.control.search import DecensorOptions, find_directions
from uptake.models.store import Store


def test_decensor_stores_an_adapter_with_lineage_and_resumes_its_search(tmp_path: Path, uptake_home: Path) -> None:
    base = Store().import_file(write_tiny_gguf(tmp_path / "tiny.gguf", layers=3), name="tiny")
    args = ("control", "decensor", "tiny", "--out", "free", "--parallel", "8", "--threads", "2", "--json")
    first = uptake(*args, "--trials", "2", home=uptake_home)
    assert first.returncode in (0, 1), first.stderr  # 1: stored, but no trial met the constraints
    made = json.loads(first.stdout)
    assert made["name"] == "free" and made["base_sha256"] == base.sha256
    assert made["constraints_met"] == (first.returncode == 0)
    assert len(made["report"]["search"]["curve"]) == 2
    assert set(made["report"]["base"]["gaps"]) == {"en", "zh-Hans", "zh-Hant"}

    shown = json.loads(uptake("control", "show", "free", "--json", home=uptake_home).stdout)
    lineage = shown["lineage"]
    assert lineage["base"]["sha256"] == base.sha256
    assert lineage["keep"] == "harm" and lineage["uptake_version"]
    split = lineage["split"]
    held_out = set(split["report_topics"])
    assert held_out and not held_out & (set(split["search_topics"]) | set(split["direction_topics"]))
    assert lineage["search"]["trials"] == 2
    assert set(lineage["plan"]["kernels"]) == {"attn_output", "ffn_down"}

    again = uptake(*args, "--trials", "3", home=uptake_home)
    assert again.returncode in (0, 1), again.stderr
    assert "resuming: 2 trials already done" in again.stderr
    assert len(json.loads(again.stdout)["report"]["search"]["curve"]) == 3

    # the remove-every-refusal baseline measures the same base model: it reuses what the first run kept
    every = uptake("control", "decensor", "tiny", "--keep", "none", "--out", "every", "--trials", "1",
                   "--parallel", "8", "--threads", "2", "--json", home=uptake_home)
    assert every.returncode in (0, 1), every.stderr
    assert "activations:" not in every.stderr and "scoring the base model" not in every.stderr
    assert json.loads(every.stdout)["report"]["base"] == made["report"]["base"]
    shared = list((uptake_home / "control").glob("base-*"))
    assert len(shared) == 1 and len(list((uptake_home / "control").glob("decensor-*"))) == 2
    assert {path.name for path in shared[0].iterdir()} == {
        "activations.npz", "baseline.json", "base_report.json", "base_logits.npz"
    }

    answered = uptake("run", "tiny+free", "hello", "--max-tokens", "4", "--temperature", "0", home=uptake_home)
    assert answered.returncode == 0, answered.stderr


def test_a_bad_keep_value_is_a_usage_error(uptake_home: Path) -> None:
    result = uptake("control", "decensor", "--keep", "everything", home=uptake_home)
    assert result.returncode == 2
    assert "--keep must be one of" in result.stderr and "Traceback" not in result.stderr


def synthetic_activations(seed: int = 0) -> dict[str, np.ndarray]:
    """Political prompts shifted along axis 0 and axis 1; harm prompts along axis 1 only."""
    rng = np.random.default_rng(seed)

    def group(n: int, shift: list[float]) -> np.ndarray:
        offset = np.zeros(16, np.float32)
        offset[: len(shift)] = shift
        return (rng.standard_normal((n, 4, 16)) * 0.05 + offset).astype(np.float32)

    return {
        "political": group(30, [1.0, 1.0]), "political_controls": group(30, []),
        "harm": group(30, [0.0, 2.0]), "neutral": group(30, []),
        "cross_script": group(10, [1.0, 1.0]), "cross_script_controls": group(10, []),
    }


def test_keeping_harm_removes_the_harm_part_of_the_edit_and_the_baseline_does_not() -> None:
    activations = synthetic_activations()
    selective = find_directions(activations, DecensorOptions(keep_harm=True, harm_rank=1))
    everything = find_directions(activations, DecensorOptions(keep_harm=False, harm_rank=1))
    harm_axis = np.eye(16, dtype=np.float32)[1]
    assert np.all(np.abs(selective.edit @ harm_axis) < 0.05)  # the edit leaves harm refusal's direction alone
    assert np.allclose(selective.edit[:, 0], 1.0, atol=0.05)  # and keeps all of the political one
    # the baseline removes refusal as such: what political and harm requests share against the answerable
    assert np.all(np.abs(everything.edit @ harm_axis) > 0.9)  # heretic-style: it takes harm refusal too
    assert np.allclose(everything.edit[:, :2], [0.5, 1.5], atol=0.05)
    summary = selective.summary(activations)
    assert all(value > 0.6 for value in summary["harm_overlap"])  # political and harm directions overlap here
    assert all(value > 5 for value in summary["separation_zh_hant"])
