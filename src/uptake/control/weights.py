"""The base model's weights that write into the residual stream, dequantized from its GGUF file.

An edit removes a direction from what each block writes into the residual stream: the attention output
projection and the feed-forward down projection. Their rank-1 LoRA factors need `direction @ W`, so those
two weights per block are dequantized (gguf's own dequantizers, for every quantization llama.cpp writes)
and kept as float32 for the length of a search: 0.5 GB for a 0.5B model, 1.8 GB for 1.5B. The file is
only read (memory-mapped), never changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from uptake.errors import UsageError

COMPONENTS = ("attn_output", "ffn_down")


def tensor_name(layer: int, component: str) -> str:
    return f"blk.{layer}.{component}.weight"


class OutputWeights:
    def __init__(self, path: Path) -> None:
        import gguf

        self.path = path
        self._reader = gguf.GGUFReader(path)
        self._tensors: dict[str, Any] = {tensor.name: tensor for tensor in self._reader.tensors}
        self._cache: dict[str, npt.NDArray[np.float32]] = {}
        layers = 0
        while tensor_name(layers, COMPONENTS[0]) in self._tensors:
            layers += 1
        if layers == 0 or any(tensor_name(i, c) not in self._tensors for i in range(layers) for c in COMPONENTS):
            raise UsageError(
                f"{path.name} has no attn_output / ffn_down weights in every block; control edits decoder "
                "transformers of the llama, qwen2, gemma and similar families."
            )
        self.layers = layers
        architecture = self._reader.fields.get("general.architecture")
        self.architecture = str(architecture.contents()) if architecture is not None else ""

    def get(self, layer: int, component: str) -> npt.NDArray[np.float32]:
        """The weight as numpy (out, in): out is the residual width."""
        from gguf.quants import dequantize

        name = tensor_name(layer, component)
        cached = self._cache.get(name)
        if cached is None:
            tensor = self._tensors[name]
            cached = np.ascontiguousarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
            self._cache[name] = cached
        return cached
