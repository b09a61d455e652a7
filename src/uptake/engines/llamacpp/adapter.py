"""A GGUF LoRA adapter loaded against a llama.cpp model, and set on that model's contexts.

llama.cpp applies an adapter at run time, per context (`llama_set_adapters_lora`): the base weights stay
as they are in memory and on disk. An adapter is loaded once per model and may be set on every context
that shares the model (the engine's single-request context, its scheduler's, its probe context).
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

from uptake.engines.llamacpp.native import quiet_stderr
from uptake.errors import EngineError


class LoadedAdapter:
    """An adapter file loaded for one model. llama.cpp checks every tensor's shape against the model."""

    def __init__(self, model: Any, path: Path, scale: float = 1.0) -> None:
        import llama_cpp

        self.path = Path(path)
        self.scale = scale
        with quiet_stderr():
            handle = llama_cpp.llama_adapter_lora_init(model, str(self.path).encode("utf-8"))
        if not handle:
            raise EngineError(
                f"llama.cpp could not load the adapter {self.path}: it is not a LoRA GGUF for this model "
                "(its tensors' shapes or architecture differ); run 'uptake scan' on it for details."
            )
        self.handle: Any = handle

    def free(self) -> None:
        import llama_cpp

        if self.handle is not None:
            llama_cpp.llama_adapter_lora_free(self.handle)
            self.handle = None


def set_adapter(context: Any, adapter: LoadedAdapter | None) -> None:
    """Make `adapter` the only adapter of `context` (None: the base model alone)."""
    import llama_cpp

    if adapter is None or adapter.handle is None:
        status = llama_cpp.llama_set_adapters_lora(context, None, 0, None)
    else:
        handles = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter.handle)
        scales = (ctypes.c_float * 1)(adapter.scale)
        status = llama_cpp.llama_set_adapters_lora(context, handles, 1, scales)
    if status != 0:
        raise EngineError(f"llama.cpp could not set the adapter on a context (status {status}).")
