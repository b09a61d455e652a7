"""Adapters for tiny models, built the way `uptake control` builds them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from tiny_gguf import write_tiny_gguf
from uptake.control.edit import EditPlan, Kernel, build_edits
from uptake.control.lora import read_adapter, write_adapter
from uptake.control.weights import COMPONENTS, OutputWeights
from uptake.models.download import sha256_file
from uptake.models.store import AdapterStore, Store


def unit_vector(width: int, seed: int = 0) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(width).astype(np.float32)
    return vector / np.linalg.norm(vector)


def full_plan(layers: int, weight: float = 1.0) -> EditPlan:
    """The same share removed in every block, from both components."""
    return EditPlan(direction_layer=0.0, kernels={c: Kernel(weight, 0.0, weight, float(layers)) for c in COMPONENTS})


def ablation_adapter(base: Path, out: Path, direction: np.ndarray, *, weight: float = 1.0,
                     lineage: dict[str, Any] | None = None) -> Path:
    """An adapter that removes `direction` from every block's writes, with lineage naming `base`."""
    weights = OutputWeights(base)
    edits = build_edits(direction, full_plan(weights.layers, weight), weights)
    if lineage is None:
        lineage = {"kind": "test", "base": {"name": base.stem, "sha256": sha256_file(base)}}
    write_adapter(out, architecture=weights.architecture, edits=edits, lineage=lineage)
    return out


def store_with_adapter(folder: Path) -> tuple[str, str]:
    """Two tiny models in the store ('first', 'second'), and the adapter 'edit' made for the first."""
    store = Store()
    first = store.import_file(write_tiny_gguf(folder / "first.gguf", seed=1), name="first")
    store.import_file(write_tiny_gguf(folder / "second.gguf", seed=2), name="second")
    adapter = ablation_adapter(first.path, folder / "edit.gguf", unit_vector(64),
                               lineage={"kind": "test", "base": {"name": "first", "sha256": first.sha256}})
    AdapterStore(store).add(adapter, name="edit", base_sha256=first.sha256, base_name="first",
                            lineage=read_adapter(adapter).lineage)
    return "first", "second"


UPTAKE = Path(sys.executable).with_name("uptake")


def uptake(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """The installed command, in its own process, on the store at `home`."""
    return subprocess.run([str(UPTAKE), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "UPTAKE_HOME": str(home)})
