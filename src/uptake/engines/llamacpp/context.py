"""A llama.cpp context for many sequences at once, and the token batch that feeds it.

The context shares the loaded model's weights with the engine's own context; only the KV cache is new.
Each sequence has its own stream of KV cells (llama.cpp's default for its server): attention then reads
only a sequence's own cells, where one unified pool makes every token attend over every sequence's
cells, masked, which costs more the more sequences run. The price: llama.cpp splits a batch into
several forward passes unless its sequence ids run consecutively in batch order, so the scheduler
orders each batch by sequence id and keeps the ids in use packed from 0 (`move`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from uptake.engines.llamacpp.adapter import LoadedAdapter, set_adapter
from uptake.engines.llamacpp.native import quiet_stderr
from uptake.errors import EngineError


@dataclass(frozen=True)
class ContextShape:
    sequences: int
    context_per_sequence: int
    batch_size: int
    threads: int
    # Off by default: llama.cpp's CPU flash attention rounds differently depending on what else is in
    # the batch, so a greedy request could change its text when others join. None lets llama.cpp decide.
    flash_attention: bool | None = False

    @property
    def total_context(self) -> int:
        return self.sequences * self.context_per_sequence


class BatchContext:
    """Owns one llama_context and one llama_batch; used only from the scheduler's thread."""

    def __init__(
        self,
        model: Any,
        shape: ContextShape,
        *,
        adapter: LoadedAdapter | None = None,
        eval_callback: Any = None,
    ) -> None:
        """`eval_callback`: a ctypes `ggml_backend_sched_eval_callback` that sees graph nodes as they are
        computed (the probe context's activations); the caller keeps it alive."""
        import llama_cpp

        params = llama_cpp.llama_context_default_params()
        params.n_ctx = shape.total_context
        params.n_batch = shape.batch_size
        params.n_ubatch = shape.batch_size
        params.n_seq_max = shape.sequences
        params.n_threads = shape.threads
        params.n_threads_batch = shape.threads
        params.kv_unified = False
        params.no_perf = True
        params.flash_attn_type = {
            None: llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO,
            True: llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED,
            False: llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED,
        }[shape.flash_attention]
        if eval_callback is not None:
            params.cb_eval = eval_callback
            params.cb_eval_user_data = None
        with quiet_stderr():
            context = llama_cpp.llama_init_from_model(model, params)
        if not context:
            raise EngineError(
                f"llama.cpp could not create a context for {shape.sequences} sequences of "
                f"{shape.context_per_sequence} tokens; lower --parallel or the context size."
            )
        self.context: Any = context
        if adapter is not None:
            set_adapter(context, adapter)
        self.memory: Any = llama_cpp.llama_get_memory(context)
        self.capacity = max(shape.batch_size, shape.sequences)
        self._batch: Any = llama_cpp.llama_batch_init(self.capacity, 0, 1)
        self.size = 0

    def clear(self) -> None:
        self.size = 0

    def add(self, token: int, position: int, sequence_id: int, wants_logits: bool) -> int:
        """Queue one token; returns its index in the batch (where its logits will be)."""
        index = self.size
        batch = self._batch
        batch.token[index] = token
        batch.pos[index] = position
        batch.n_seq_id[index] = 1
        batch.seq_id[index][0] = sequence_id
        batch.logits[index] = wants_logits
        self.size = index + 1
        return index

    def set_wants_logits(self, index: int) -> None:
        self._batch.logits[index] = True

    def decode(self) -> None:
        import llama_cpp

        self._batch.n_tokens = self.size
        status = llama_cpp.llama_decode(self.context, self._batch)
        if status != 0:
            raise EngineError(f"llama.cpp could not decode a batch of {self.size} tokens (status {status}).")

    def forget(self, sequence_id: int, keep: int = 0) -> None:
        """Free a sequence's KV cells from position `keep` on (all of them by default)."""
        import llama_cpp

        llama_cpp.llama_memory_seq_rm(self.memory, sequence_id, keep, -1)

    def move(self, source: int, target: int) -> None:
        """Give sequence `source`'s cells to `target` (whose cells are dropped). llama.cpp copies the stream's
        buffers before the next decode, bit for bit; `source` keeps its own cells."""
        import llama_cpp

        llama_cpp.llama_memory_seq_cp(self.memory, source, target, -1, -1)

    def close(self) -> None:
        import llama_cpp

        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        if self.context is not None:
            llama_cpp.llama_free(self.context)
            self.context = None
