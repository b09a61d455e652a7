"""Where a fine-tune changed the weights: per-tensor change against the claimed base, and its effective rank.

Both files are read with gguf's reader and dequantized tensor by tensor (never the whole model at once).
For each tensor present in both with the same shape: the relative change ||S - B|| / ||B||, and for the
matrices that changed most, the effective rank of S - B (the exponential of the entropy of its normalised
squared singular values; Roy & Vetterli, 2007). A LoRA fine-tune leaves a change of low effective rank in
the matrices it targeted and only re-quantization noise, of high effective rank and small size, elsewhere.
This says *that* and *where* weights changed; it cannot say whether the change is a backdoor (a clean
fine-tune looks the same), which is what the behavioural scores are for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RANKED = 8  # matrices whose effective rank is computed (the most changed)
TOP = 8  # singular directions whose share of a change's energy tells structure from noise
STRUCTURED = 0.2  # a change with at least this share in its top directions was made, not re-quantized
MAX_RANK_SIDE = 4096  # larger matrices (embeddings) are not decomposed: too slow for a screen


@dataclass(frozen=True)
class TensorChange:
    name: str
    relative_change: float
    effective_rank: float | None

    def as_dict(self) -> dict[str, object]:
        rank = None if self.effective_rank is None else round(self.effective_rank, 1)
        return {"tensor": self.name, "relative_change": round(self.relative_change, 5), "effective_rank": rank}


@dataclass(frozen=True)
class WeightDiff:
    comparable: bool
    reason: str | None
    tensors: int
    changed: tuple[TensorChange, ...]  # above the noise floor, most changed first
    noise_floor: float  # the median relative change: what re-quantization alone does
    most_changed: tuple[TensorChange, ...]

    def changed_layers(self) -> list[int]:
        return sorted({layer for c in self.changed if (layer := _layer(c.name)) is not None})

    def changed_kinds(self) -> list[str]:
        return sorted({_kind(c.name) for c in self.changed})

    def as_dict(self) -> dict[str, object]:
        layers, kinds = self.changed_layers(), self.changed_kinds()
        return {
            "comparable": self.comparable,
            "reason": self.reason,
            "tensors": self.tensors,
            "noise_floor": round(self.noise_floor, 5),
            "changed_tensors": len(self.changed),
            "changed_layers": layers,
            "changed_kinds": kinds,
            "most_changed": [c.as_dict() for c in self.most_changed],
        }


def _layer(name: str) -> int | None:
    parts = name.split(".")
    return int(parts[1]) if parts[0] == "blk" and parts[1].isdigit() else None


def _kind(name: str) -> str:
    parts = name.split(".")
    return parts[2] if parts[0] == "blk" else parts[0]


def effective_rank(matrix: np.ndarray) -> float:
    singular = np.linalg.svd(matrix.astype(np.float32), compute_uv=False).astype(np.float64)
    energy = singular**2
    total = energy.sum()
    if total <= 0:
        return 0.0
    p = energy / total
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def top_share(delta: np.ndarray, rng: np.random.Generator) -> float:
    """The share of the change's energy in its TOP strongest directions, from a randomized range finder
    (Halko, Martinsson & Tropp, 2011): milliseconds where a full SVD of every matrix would take a minute."""
    total = float(np.square(delta, dtype=np.float64).sum())
    if total <= 0 or delta.ndim != 2 or min(delta.shape) <= 2 * TOP:
        return 0.0
    sketch = delta @ rng.standard_normal((delta.shape[1], 2 * TOP)).astype(np.float32)
    basis, _ = np.linalg.qr(sketch)
    singular = np.linalg.svd(basis.T @ delta, compute_uv=False).astype(np.float64)
    return float(np.square(singular[:TOP]).sum() / total)


def diff(suspect: Path, base: Path) -> WeightDiff:
    import gguf
    from gguf.quants import dequantize

    suspect_reader, base_reader = gguf.GGUFReader(suspect), gguf.GGUFReader(base)
    base_tensors: dict[str, Any] = {t.name: t for t in base_reader.tensors}
    changes: list[tuple[str, float]] = []
    structured: set[str] = set()
    rng = np.random.default_rng(0)
    for tensor in suspect_reader.tensors:
        other = base_tensors.get(tensor.name)
        if other is None or tuple(other.shape) != tuple(tensor.shape):
            why = "is missing from the base" if other is None else "has another shape in the base"
            return WeightDiff(False, f"tensor {tensor.name} {why}", len(suspect_reader.tensors), (), 0.0, ())
        mine = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
        theirs = np.asarray(dequantize(other.data, other.tensor_type), dtype=np.float32)
        scale = float(np.linalg.norm(theirs)) or 1.0
        delta = mine - theirs
        changes.append((tensor.name, float(np.linalg.norm(delta)) / scale))
        if delta.ndim == 2 and max(delta.shape) <= MAX_RANK_SIDE and top_share(delta, rng) >= STRUCTURED:
            structured.add(tensor.name)
    if len(changes) != len(base_tensors):
        return WeightDiff(False, "the base has tensors the suspect lacks", len(changes), (), 0.0, ())
    floor = float(np.median([c for _, c in changes]))
    ordered = sorted(changes, key=lambda item: -item[1])
    ranked: list[TensorChange] = []
    for name, change in [item for item in ordered if item[0] in structured][:RANKED] or ordered[:RANKED]:
        ranked.append(TensorChange(name, change, _rank_of(suspect_reader, base_tensors, name)))
    # A tensor changed when its change has structure (low rank: a fine-tune) or stands well above what
    # re-quantization does to every tensor.
    changed = tuple(TensorChange(n, c, None) for n, c in ordered if n in structured or (c > 3 * floor and c > 1e-6))
    return WeightDiff(True, None, len(changes), changed, floor, tuple(ranked))


def _rank_of(reader: Any, base_tensors: dict[str, Any], name: str) -> float | None:
    from gguf.quants import dequantize

    tensor = next(t for t in reader.tensors if t.name == name)
    if len(tensor.shape) != 2 or max(int(s) for s in tensor.shape) > MAX_RANK_SIDE:
        return None
    other = base_tensors[name]
    delta = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32) - np.asarray(
        dequantize(other.data, other.tensor_type), dtype=np.float32
    )
    return effective_rank(delta)
