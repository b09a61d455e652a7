"""The llama.cpp engine, on llama-cpp-python. GGUF models on CPU (and GPU when built for one)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from uptake.engines.base import (
    AnyRequest,
    EngineInfo,
    EngineStats,
    GenerationRequest,
    GenerationResult,
    PreparedPrompt,
    StreamEvent,
    collect,
)
from uptake.engines.chat_template import render_chat
from uptake.engines.handle import SequenceHandle
from uptake.engines.llamacpp.adapter import LoadedAdapter, set_adapter
from uptake.engines.llamacpp.context import ContextShape
from uptake.engines.llamacpp.embedding import Embedder
from uptake.engines.llamacpp.native import quiet_stderr
from uptake.engines.llamacpp.probe import ProbeContext, ProbeResult
from uptake.engines.llamacpp.sampling import chain_settings
from uptake.engines.llamacpp.scheduler import BatchScheduler
from uptake.engines.llamacpp.solo import stream_alone
from uptake.errors import ContextOverflowError, EngineError, UsageError
from uptake.models.template_hash import chat_template_sha256


class LlamaCppEngine:
    """One loaded GGUF model, with two ways to decode.

    `stream` and `generate` run one request at a time on llama-cpp-python's own context (what `uptake run`
    uses; not thread-safe). `generate_batch` and `submit` go through the engine's one continuous-batching
    scheduler (the audit, the server), which is started on first use, or by `start`: its context holds
    `parallel` sequences of `context_per_sequence` tokens, memory a single chat does not need.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        context_size: int = 4096,
        threads: int | None = None,
        batch_size: int = 512,
        gpu_layers: int = 0,
        chat_template: str | None = None,
        bos_token: str = "",
        eos_token: str = "",
        parallel: int = 4,
        context_per_sequence: int | None = None,
        max_waiting: int = 256,
        flash_attention: bool | None = False,
        reuse_prefixes: bool = True,
        adapter_path: Path | None = None,
    ) -> None:
        from llama_cpp import Llama

        self.model_path = Path(model_path)
        threads = threads or max(1, (os.cpu_count() or 2))
        load_options: dict[str, Any] = {
            "model_path": str(self.model_path),
            "n_ctx": context_size,
            "n_threads": threads,
            "n_threads_batch": threads,
            "n_batch": min(batch_size, context_size),
            "n_gpu_layers": gpu_layers,
            "verbose": False,
        }
        try:
            with quiet_stderr():
                self._llm = Llama(**load_options)
        except Exception as error:  # llama-cpp-python raises ValueError with no detail on load failure
            raise EngineError(f"llama.cpp could not load {self.model_path}: {error}") from error
        self._embedder = Embedder(load_options)
        self._adapter: LoadedAdapter | None = None
        self._probe: ProbeContext | None = None
        self._probe_lock = threading.Lock()
        if adapter_path is not None:
            self._use_adapter(Path(adapter_path))
        self.parallel = parallel
        self.chat_template = chat_template
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.threads = threads
        self.batch_size = batch_size
        self.max_waiting = max_waiting
        self._reuse_prefixes = reuse_prefixes
        self._shape = ContextShape(
            sequences=parallel,
            context_per_sequence=context_per_sequence or self.context_size,
            batch_size=max(batch_size, parallel),
            threads=threads,
            flash_attention=flash_attention,
        )
        self._scheduler: BatchScheduler | None = None
        self._scheduler_lock = threading.Lock()
        self._closed = False

    @property
    def context_size(self) -> int:
        return int(self._llm.n_ctx())

    @property
    def context_per_sequence(self) -> int:
        return self._shape.context_per_sequence

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(
            engine=type(self).__name__,
            model_path=str(self.model_path),
            context_size=self.context_size,
            context_per_sequence=self.context_per_sequence,
            parallel=self.parallel,
            max_waiting=self.max_waiting,
            threads=self.threads,
            batch_size=self.batch_size,
            flash_attention=self._shape.flash_attention,
            chat_template_sha256=None if self.chat_template is None else chat_template_sha256(self.chat_template),
            vocabulary_size=int(self._llm.n_vocab()),
            embedding_size=int(self._llm.n_embd()),
        )

    # -- prompts ----------------------------------------------------------------------------------

    def render(self, request: GenerationRequest) -> str:
        return render_chat(
            self.chat_template,
            request.all_messages(),
            bos_token=self.bos_token,
            eos_token=self.eos_token,
            tools=request.tools,
        )

    def tokenize_prompt(self, request: GenerationRequest) -> list[int]:
        text = self.render(request)
        # Templates that write the BOS text themselves would otherwise get it twice.
        add_bos = not (self.bos_token and text.startswith(self.bos_token))
        tokens: list[int] = self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens

    def tokenize_text(self, text: str) -> list[int]:
        """A raw prompt as llama.cpp's own server reads it: BOS first, special tokens parsed."""
        return [int(token) for token in self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)]

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        return len(self.tokenize_prompt(request))

    def check_fits(self, prompt_tokens: int) -> None:
        if prompt_tokens >= self.context_size:
            raise ContextOverflowError(prompt_tokens, self.context_size)

    def prepare(self, request: AnyRequest) -> PreparedPrompt:
        if isinstance(request, GenerationRequest):
            tokens = self.tokenize_prompt(request)
        elif isinstance(request.prompt, str):
            tokens = self.tokenize_text(request.prompt)
        else:
            tokens = list(request.prompt)
            self._check_vocabulary(tokens)
        sampling = request.sampling_settings()
        chain_settings(sampling)  # a schema that cannot become a grammar is refused here, not at submit
        if len(tokens) >= self.context_per_sequence:
            raise ContextOverflowError(len(tokens), self.context_per_sequence)
        return PreparedPrompt(request, tuple(tokens), sampling)

    def _check_vocabulary(self, tokens: list[int]) -> None:
        size = int(self._llm.n_vocab())
        outside = [token for token in tokens if not 0 <= token < size]
        if outside:
            raise UsageError(f"token ids must lie in 0..{size - 1}; the prompt holds {outside[0]}.")

    # -- one request at a time --------------------------------------------------------------------

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        prompt = self.tokenize_prompt(request)
        self.check_fits(len(prompt))
        settings = chain_settings(request.sampling_settings())
        if settings.logprobs is not None and settings.grammar is not None:
            # llama-cpp-python's generator keeps its grammar state to itself, and log-probabilities are
            # masked by it: such a request runs on the scheduler, whose sampler chain is ours
            handle = self.scheduler.submit_tokens(prompt, settings, block=True)
            try:
                yield from handle
            finally:
                handle.cancel()
            return
        budget = min(request.max_tokens, self.context_size - len(prompt))
        yield from stream_alone(self._llm, prompt, settings, budget)

    def generate(self, request: GenerationRequest) -> GenerationResult:
        return collect(self.stream(request))

    # -- many at once, on the scheduler -----------------------------------------------------------

    @property
    def scheduler(self) -> BatchScheduler:
        """The engine's one scheduler, started on first use."""
        return self._running_scheduler()

    def _running_scheduler(self) -> BatchScheduler:
        with self._scheduler_lock:
            if self._scheduler is None:
                if self._closed:
                    raise EngineError("the engine is closed.")
                model = self._llm._model
                self._scheduler = BatchScheduler(
                    model.model,
                    model.vocab,
                    self._shape,
                    max_waiting=self.max_waiting,
                    reuse_prefixes=self._reuse_prefixes,
                    adapter=self._adapter,
                )
            return self._scheduler

    def start(self) -> None:
        self._running_scheduler()

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Decode the requests together on the scheduler (`parallel` at a time); results in order."""
        if len(requests) <= 1 or self.parallel <= 1:
            return [self.generate(request) for request in requests]
        prompts = [(self.tokenize_prompt(r), chain_settings(r.sampling_settings())) for r in requests]
        return self.scheduler.generate_batch(prompts)

    def submit(self, prompt: PreparedPrompt, *, loop: asyncio.AbstractEventLoop | None = None) -> SequenceHandle:
        return self.scheduler.submit_tokens(list(prompt.tokens), chain_settings(prompt.sampling), loop=loop)

    def stats(self) -> EngineStats:
        scheduler = self._scheduler
        if scheduler is None:
            return EngineStats(waiting=0, active=0, parallel=self.parallel, cancelled=0, reused_prompt_tokens=0)
        current = scheduler.stats()
        return EngineStats(
            waiting=current.waiting,
            active=current.active,
            parallel=current.parallel,
            cancelled=current.cancelled,
            reused_prompt_tokens=current.reused_prompt_tokens,
        )

    @property
    def failure(self) -> str | None:
        scheduler = self._scheduler
        return None if scheduler is None else scheduler.failure

    # -- adapters and probes ----------------------------------------------------------------------

    @property
    def adapter_path(self) -> Path | None:
        return None if self._adapter is None else self._adapter.path

    def _use_adapter(self, path: Path | None) -> None:
        loaded = None if path is None else LoadedAdapter(self._llm._model.model, path)
        set_adapter(self._llm._ctx.ctx, loaded)
        previous, self._adapter = self._adapter, loaded
        if previous is not None:
            previous.free()

    def swap_adapter(self, path: Path | None) -> None:
        """Apply another adapter file (None: none) to every context. The scheduler and probe contexts are
        rebuilt, so no cached prompt computed under the previous weights is reused. Not for a busy engine."""
        with self._scheduler_lock, self._probe_lock:
            scheduler, self._scheduler = self._scheduler, None
            probe, self._probe = self._probe, None
            if scheduler is not None:
                scheduler.close()
            if probe is not None:
                probe.close()
            self._use_adapter(path)

    def probe(self, requests: Sequence[GenerationRequest]) -> list[ProbeResult]:
        """Per prompt: the residual activations after every block at the last prompt token, and the
        next-token logits (see engines/llamacpp/probe.py for the route and its cost)."""
        import llama_cpp

        prompts = [self.tokenize_prompt(request) for request in requests]
        with self._probe_lock:
            if self._probe is None:
                model = self._llm._model.model
                longest = max((len(tokens) for tokens in prompts), default=1)
                self._probe = ProbeContext(
                    model,
                    layers=int(llama_cpp.llama_model_n_layer(model)),
                    width=int(self._llm.n_embd()),
                    vocabulary=int(self._llm.n_vocab()),
                    context_size=max(512, 1 << (longest + 1).bit_length()),
                    threads=self.threads,
                    adapter=self._adapter,
                )
            probe = self._probe
            results: list[ProbeResult] = []
            for tokens in prompts:
                if len(tokens) >= probe.context_size:
                    raise ContextOverflowError(len(tokens), probe.context_size)
                results.append(probe.run(tokens))
            return results

    # -- embeddings -------------------------------------------------------------------------------

    def count_embedding_tokens(self, texts: Sequence[str]) -> int:
        return sum(len(self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)) for text in texts)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self._embedder.embed(texts, self.check_fits)

    def close(self) -> None:
        with self._scheduler_lock:
            self._closed = True
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.close()
        with self._probe_lock:
            probe, self._probe = self._probe, None
        if probe is not None:
            probe.close()
        self._embedder.close()
        if self._adapter is not None:  # detached and freed while the model it belongs to still exists
            self._use_adapter(None)
        self._llm.close()
