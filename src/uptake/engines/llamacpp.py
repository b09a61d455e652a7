"""The llama.cpp engine, on llama-cpp-python. GGUF models on CPU (and GPU when built for one)."""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from uptake.engines.base import (
    Finish,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    StreamEvent,
    TextDelta,
    Timings,
    Usage,
    collect,
)
from uptake.engines.chat_template import render_chat
from uptake.errors import ContextOverflowError, EngineError, UsageError

# Sampling beyond what a request names follows llama.cpp's own defaults, so results match its tools.
TOP_K = 40
MIN_P = 0.05


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp prints load logs on fd 2 from C; keep the terminal clean unless UPTAKE_DEBUG is set."""
    if os.environ.get("UPTAKE_DEBUG"):
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def grammar_for_schema(schema: dict[str, Any]) -> Any:
    """A llama.cpp grammar that only admits JSON valid against `schema`."""
    from llama_cpp.llama_grammar import LlamaGrammar

    try:
        with _quiet_stderr():
            return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    except Exception as error:  # the converter raises plain exceptions for unsupported schemas
        raise UsageError(f"JSON schema cannot be turned into a grammar: {error}") from error


class StopMatcher:
    """Holds back text that might be the start of a stop string, so a stop never leaks to the caller."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Returns (text safe to emit, whether a stop string was hit)."""
        self.pending += text
        for stop in self.stops:
            index = self.pending.find(stop)
            if index >= 0:
                emitted = self.pending[:index]
                self.pending = ""
                return emitted, True
        hold = 0
        for stop in self.stops:
            for length in range(min(len(stop) - 1, len(self.pending)), 0, -1):
                if self.pending.endswith(stop[:length]):
                    hold = max(hold, length)
                    break
        cut = len(self.pending) - hold
        emitted, self.pending = self.pending[:cut], self.pending[cut:]
        return emitted, False

    def flush(self) -> str:
        emitted, self.pending = self.pending, ""
        return emitted


class LlamaCppEngine:
    """One loaded GGUF model. Not thread-safe: serve one request at a time, or use the batch scheduler."""

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
    ) -> None:
        from llama_cpp import Llama

        self.model_path = Path(model_path)
        threads = threads or max(1, (os.cpu_count() or 2))
        self._load_options: dict[str, Any] = {
            "model_path": str(self.model_path),
            "n_ctx": context_size,
            "n_threads": threads,
            "n_threads_batch": threads,
            "n_batch": min(batch_size, context_size),
            "n_gpu_layers": gpu_layers,
            "verbose": False,
        }
        try:
            with _quiet_stderr():
                self._llm = Llama(**self._load_options)
        except Exception as error:  # llama-cpp-python raises ValueError with no detail on load failure
            raise EngineError(f"llama.cpp could not load {self.model_path}: {error}") from error
        self._embedder: Any = None
        self._scheduler: Any = None
        self.parallel = parallel
        self.chat_template = chat_template
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.threads = threads

    @property
    def context_size(self) -> int:
        return int(self._llm.n_ctx())

    @property
    def llama(self) -> Any:
        """The underlying llama_cpp.Llama, for code that needs llama.cpp directly (benchmarks, scheduler)."""
        return self._llm

    def render(self, request: GenerationRequest) -> str:
        return render_chat(
            self.chat_template, request.all_messages(), bos_token=self.bos_token, eos_token=self.eos_token
        )

    def tokenize_prompt(self, request: GenerationRequest) -> list[int]:
        text = self.render(request)
        # Templates that write the BOS text themselves would otherwise get it twice.
        add_bos = not (self.bos_token and text.startswith(self.bos_token))
        tokens: list[int] = self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        return len(self.tokenize_prompt(request))

    def check_fits(self, prompt_tokens: int) -> None:
        if prompt_tokens >= self.context_size:
            raise ContextOverflowError(prompt_tokens, self.context_size)

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        prompt = self.tokenize_prompt(request)
        self.check_fits(len(prompt))
        grammar = grammar_for_schema(request.json_schema) if request.json_schema is not None else None
        budget = min(request.max_tokens, self.context_size - len(prompt))
        if request.seed is not None:
            self._llm.set_seed(request.seed)
        from llama_cpp import llama_vocab_is_eog

        llm = self._llm
        vocab = llm._model.vocab
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        matcher = StopMatcher(request.stop)
        started = time.perf_counter()
        first_token_at: float | None = None
        completion = 0
        reason: FinishReason = "length"
        stopped_by_string = False
        generator = llm.generate(
            prompt, top_k=TOP_K, top_p=request.top_p, min_p=MIN_P, temp=request.temperature, grammar=grammar
        )
        try:
            for token in generator:
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                if llama_vocab_is_eog(vocab, token):
                    reason = "stop"
                    break
                completion += 1
                text, stopped_by_string = matcher.feed(decoder.decode(llm.detokenize([token], special=False)))
                if text:
                    yield TextDelta(text)
                if stopped_by_string:
                    reason = "stop"
                    break
                if completion >= budget:
                    break
        finally:
            generator.close()
        if not stopped_by_string:
            text, _ = matcher.feed(decoder.decode(b"", final=True))
            tail = text + matcher.flush()
            if tail:
                yield TextDelta(tail)
        ended = time.perf_counter()
        first = first_token_at or ended
        yield Finish(
            reason=reason,
            usage=Usage(prompt_tokens=len(prompt), completion_tokens=completion),
            timings=Timings(prompt_s=first - started, decode_s=ended - first),
        )

    def generate(self, request: GenerationRequest) -> GenerationResult:
        return collect(self.stream(request))

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Decode the requests together on the continuous-batching scheduler (`parallel` at a time)."""
        if len(requests) <= 1 or self.parallel <= 1:
            return [self.generate(request) for request in requests]
        if self._scheduler is None:
            # Imported here: the scheduler builds on this class.
            from uptake.engines.batch_scheduler import BatchScheduler

            self._scheduler = BatchScheduler(self, parallel=self.parallel, context_per_sequence=self.context_size)
        results: list[GenerationResult] = self._scheduler.generate_batch(requests)
        return results

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        from llama_cpp import Llama

        if self._embedder is None:
            from llama_cpp import LLAMA_POOLING_TYPE_MEAN

            # Chat models have no pooling head; the mean of the last hidden states is the usual stand-in.
            options = {**self._load_options, "embedding": True, "pooling_type": LLAMA_POOLING_TYPE_MEAN}
            with _quiet_stderr():
                self._embedder = Llama(**options)
        vectors: list[list[float]] = []
        for text in texts:
            tokens = self._embedder.tokenize(text.encode("utf-8"), add_bos=True, special=False)
            self.check_fits(len(tokens))
            vectors.append([float(x) for x in self._embedder.embed(text, normalize=True)])
        return vectors

    def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.close()
            self._scheduler = None
        for llm in (self._llm, self._embedder):
            if llm is not None:
                llm.close()
        self._embedder = None
