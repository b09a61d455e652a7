"""The edit: per block, remove a share of one direction from what the block writes into the residual stream.

For a weight W (out = residual width) and a unit direction r, `W - w * r r^T W` stops the block from
writing along r in proportion w (w = 1: not at all). That change is rank 1, so it is a LoRA pair:
`lora_b = -w * r` (out, 1) and `lora_a = r^T W` (1, in). The share w per block follows a kernel: highest
at a peak block, falling linearly to a floor at a given distance, zero beyond (one kernel for the
attention outputs, one for the feed-forward outputs); a search picks the kernels' parameters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from uptake.control.directions import Array
from uptake.control.lora import LowRankEdit
from uptake.control.weights import COMPONENTS, OutputWeights, tensor_name


@dataclass(frozen=True)
class Kernel:
    """Share removed per block: `peak_weight` at block `peak`, falling linearly to `floor_weight` at
    `reach` blocks away, nothing beyond."""

    peak_weight: float
    peak: float
    floor_weight: float
    reach: float

    def weight(self, layer: int) -> float:
        distance = abs(layer - self.peak)
        if distance > self.reach:
            return 0.0
        share = distance / self.reach if self.reach > 0 else 0.0
        return self.peak_weight + (self.floor_weight - self.peak_weight) * share

    def as_dict(self) -> dict[str, float]:
        return {key: round(value, 6) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class EditPlan:
    """Everything an edit depends on besides the directions: where the direction is taken, and the kernels."""

    direction_layer: float
    kernels: dict[str, Kernel]  # component -> kernel

    def as_dict(self) -> dict[str, Any]:
        return {
            "direction_layer": round(self.direction_layer, 6),
            "kernels": {name: kernel.as_dict() for name, kernel in self.kernels.items()},
        }



def build_edits(direction: Array, plan: EditPlan, weights: OutputWeights) -> dict[str, LowRankEdit]:
    """Rank-1 LoRA pairs for every block and component whose share is not zero."""
    unit = (direction / max(float(np.linalg.norm(direction)), 1e-12)).astype(np.float32)
    edits: dict[str, LowRankEdit] = {}
    for component in COMPONENTS:
        kernel = plan.kernels.get(component)
        if kernel is None:
            continue
        for layer in range(weights.layers):
            share = kernel.weight(layer)
            if share == 0.0:
                continue
            matrix = weights.get(layer, component)
            a = (unit @ matrix)[None, :].astype(np.float32)
            b = (-share * unit)[:, None].astype(np.float32)
            edits[tensor_name(layer, component)] = LowRankEdit(a, b)
    return edits
