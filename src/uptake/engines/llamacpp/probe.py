"""Residual activations and next-token logits, read from llama.cpp's own forward pass.

The route: a context of its own over the engine's loaded model, created with an evaluation callback
(llama.cpp's `cb_eval`, the hook its imatrix and eval-callback tools use). While a graph is scheduled,
llama.cpp asks the callback about each node; this one asks for the layer outputs (`l_out-N`, the residual
stream after block N) and, as each is computed, copies the row of the prompt's last token. The model stays
in its GGUF quantization, as the engine runs it: nothing is converted to fp32 torch, no second copy of the
weights is made. The cost is one prompt evaluation per prompt, plus a graph split at each layer output
(the benchmark reports the seconds per prompt).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from uptake.engines.llamacpp.adapter import LoadedAdapter
from uptake.engines.llamacpp.context import BatchContext, ContextShape
from uptake.errors import EngineError

LAYER_OUTPUT = b"l_out-"
GGML_TYPE_F32 = 0


class _TensorHead(ctypes.Structure):
    """The leading fields of ggml's `struct ggml_tensor` (type, buffer, ne[4], nb[4]), which ggml has kept
    in this order since its first release; the rest of the struct is never read."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * 4),
        ("nb", ctypes.c_size_t * 4),
    ]


def _ggml() -> Any:
    """ggml's tensor functions (from the library llama-cpp-python ships), with their C signatures."""
    from llama_cpp._ggml import libggml

    libggml.ggml_get_name.argtypes = [ctypes.c_void_p]
    libggml.ggml_get_name.restype = ctypes.c_char_p
    libggml.ggml_backend_tensor_get.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
    libggml.ggml_backend_tensor_get.restype = None
    return libggml


@dataclass(frozen=True)
class ProbeResult:
    """One prompt: `activations[layer]` is the residual stream after that block at the last prompt token;
    `logits` the next-token logits there."""

    activations: npt.NDArray[np.float32]
    logits: npt.NDArray[np.float32]


class ProbeContext:
    """One sequence at a time, logits for the last token only. Not thread-safe (the engine serialises it)."""

    def __init__(
        self,
        model: Any,
        layers: int,
        width: int,
        vocabulary: int,
        context_size: int,
        threads: int,
        adapter: LoadedAdapter | None = None,
    ) -> None:
        self._ggml = _ggml()
        self._layers = layers
        self._width = width
        self._vocabulary = vocabulary
        self._rows = np.zeros((layers, width), dtype=np.float32)
        self._seen = np.zeros(layers, dtype=bool)
        self._error: str | None = None
        import llama_cpp

        # Kept on self: llama.cpp holds only the raw function pointer.
        self._callback = llama_cpp.ggml_backend_sched_eval_callback(self._observe)
        shape = ContextShape(sequences=1, context_per_sequence=context_size, batch_size=context_size, threads=threads)
        self._context = BatchContext(model, shape, adapter=adapter, eval_callback=self._callback)
        self.context_size = context_size

    def _observe(self, tensor: int, ask: bool, _user: Any) -> bool:
        # Any exception here would cross into C, so errors are recorded and raised after decoding.
        name = self._ggml.ggml_get_name(tensor) or b""
        if not name.startswith(LAYER_OUTPUT):
            return not ask  # asked: not wanted; shown: carry on computing
        if ask:
            return True
        try:
            layer = int(name[len(LAYER_OUTPUT) :])
            head = _TensorHead.from_address(tensor)
            if head.type != GGML_TYPE_F32 or head.ne[0] != self._width or not 0 <= layer < self._layers:
                self._error = f"unexpected layer output {name.decode()} (type {head.type}, width {head.ne[0]})"
                return True
            row = self._rows[layer]
            offset = (head.ne[1] - 1) * head.nb[1]  # the last token's row (the only one in the last layer)
            self._ggml.ggml_backend_tensor_get(tensor, row.ctypes.data, offset, self._width * 4)
            self._seen[layer] = True
        except Exception as error:  # recorded here, raised on the caller's side
            self._error = str(error)
        return True

    def run(self, tokens: Sequence[int]) -> ProbeResult:
        import llama_cpp

        if not tokens or len(tokens) >= self.context_size:
            raise EngineError(f"a probe prompt must hold 1 to {self.context_size - 1} tokens, not {len(tokens)}.")
        context = self._context
        context.forget(0)
        context.clear()
        for position, token in enumerate(tokens):
            context.add(token, position, 0, position == len(tokens) - 1)
        self._seen[:] = False
        self._error = None
        context.decode()
        if self._error is not None:
            raise EngineError(f"reading activations failed: {self._error}")
        if not self._seen.all():
            missing = [int(i) for i in np.flatnonzero(~self._seen)][:5]
            raise EngineError(f"llama.cpp did not expose the outputs of layers {missing} for this architecture.")
        pointer = llama_cpp.llama_get_logits_ith(context.context, -1)
        logits = np.ctypeslib.as_array(pointer, shape=(self._vocabulary,)).copy()
        return ProbeResult(self._rows.copy(), logits)

    def close(self) -> None:
        self._context.close()
