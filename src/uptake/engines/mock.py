"""A scripted engine for testing the layers above the seam. It never pretends to be a model:
it returns exactly what the test scripted, and records what it was asked."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Iterator, Sequence

from uptake.engines.base import (
    AnyRequest,
    EngineInfo,
    EngineStats,
    Finish,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    PreparedPrompt,
    SamplingSettings,
    StreamEvent,
    TextDelta,
    Timings,
    TokenLogprob,
    TopLogprob,
    Usage,
    collect,
)
from uptake.engines.handle import SequenceHandle
from uptake.engines.mock_scheduler import ScriptedScheduler
from uptake.engines.stops import StopMatcher
from uptake.errors import ContextOverflowError, UsageError

Responder = Callable[[GenerationRequest], str]

VOCABULARY_SIZE = 32_000
TOKENS_PER_MESSAGE = 4  # what a chat template adds around each message
START_TOKEN = 1  # begins a raw prompt and each embedded text, as a model's BOS token does
LETTERS = 26  # an embedding counts each letter of the alphabet


def word_token(word: str) -> int:
    return zlib.crc32(word.encode("utf-8")) % VOCABULARY_SIZE


def scripted_logprob(piece: str, position: int, top: int) -> TokenLogprob:
    """The mock's log-probability for the word `piece` at `position` of its reply: -0.1 per position (so
    tests can tell tokens apart), with `top` alternatives, the word itself first, then "alt1", "alt2", ...
    each one lower."""
    logprob = -0.1 * (position + 1)
    alternatives = [TopLogprob(word_token(piece), piece, piece.encode("utf-8"), logprob)]
    for rank in range(1, top):
        name = f"alt{rank}"
        alternatives.append(TopLogprob(word_token(name), name, name.encode("utf-8"), logprob - rank))
    return TokenLogprob(word_token(piece), piece, piece.encode("utf-8"), logprob, tuple(alternatives[:top]))


class MockEngine:
    """Answers from a queue of scripted replies, or from a function of the request.

    Tokens are whitespace-separated words, so usage figures are predictable in tests. Submitted
    sequences play on a scripted scheduler (see mock_scheduler): `parallel` at a time, at most
    `max_waiting` waiting, one word per step with `step_s` between steps.
    """

    def __init__(
        self,
        replies: Sequence[str] | None = None,
        *,
        responder: Responder | None = None,
        context_size: int = 4096,
        parallel: int = 4,
        max_waiting: int = 256,
        step_s: float = 0.0,
    ) -> None:
        self._queue: list[str] = list(replies or [])
        self._responder = responder
        self._context_size = context_size
        self._scheduler = ScriptedScheduler(parallel=parallel, max_waiting=max_waiting, step_s=step_s)
        self.requests: list[GenerationRequest] = []
        self.batches: list[int] = []
        self.closed = False

    @property
    def context_size(self) -> int:
        return self._context_size

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(
            engine=type(self).__name__,
            model_path=None,
            context_size=self._context_size,
            context_per_sequence=self._context_size,
            parallel=self._scheduler.parallel,
            max_waiting=self._scheduler.max_waiting,
            threads=None,
            batch_size=None,
            flash_attention=None,
            chat_template_sha256=None,
            vocabulary_size=VOCABULARY_SIZE,
            embedding_size=LETTERS,
        )

    def enqueue(self, *replies: str) -> None:
        self._queue.extend(replies)

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        return sum(len(m.content.split()) + TOKENS_PER_MESSAGE for m in request.all_messages())

    def _check_fits(self, prompt_tokens: int) -> None:
        """As in a real engine, a prompt must leave room for at least one generated token."""
        if prompt_tokens >= self._context_size:
            raise ContextOverflowError(prompt_tokens, self._context_size)

    def _reply(self, request: GenerationRequest) -> str:
        if self._queue:
            return self._queue.pop(0)
        if self._responder is not None:
            return self._responder(request)
        return request.messages[-1].content

    def _events(self, request: GenerationRequest, prompt_tokens: int) -> Iterator[StreamEvent]:
        """The scripted reply, one word per token, cut at max_tokens or at a stop string."""
        self.requests.append(request)
        reply = self._reply(request)
        pieces = [word if index == 0 else " " + word for index, word in enumerate(reply.split(" "))] if reply else []
        matcher = StopMatcher(request.stop)
        completion = 0
        reason: FinishReason = "stop"
        stopped = False
        pending: list[TokenLogprob] = []
        for piece in pieces:
            if completion == request.max_tokens:
                reason = "length"
                break
            if request.logprobs is not None:
                pending.append(scripted_logprob(piece, completion, request.logprobs))
            completion += 1
            text, stopped = matcher.feed(piece)
            if text:
                yield TextDelta(text, tuple(pending))
                pending.clear()
            if stopped:
                break
        if not stopped and ((tail := matcher.flush()) or pending):
            yield TextDelta(tail, tuple(pending))
        yield Finish(
            reason=reason,
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion),
            timings=Timings(prompt_s=0.0, decode_s=0.0),
        )

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        prompt_tokens = self.count_prompt_tokens(request)
        self._check_fits(prompt_tokens)
        yield from self._events(request, prompt_tokens)

    def generate(self, request: GenerationRequest) -> GenerationResult:
        return collect(self.stream(request))

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        self.batches.append(len(requests))
        return [self.generate(request) for request in requests]

    # -- submitted sequences ----------------------------------------------------------------------

    def prepare(self, request: AnyRequest) -> PreparedPrompt:
        if isinstance(request, GenerationRequest):
            tokens = [
                token
                for message in request.all_messages()
                for token in [0] * TOKENS_PER_MESSAGE + [word_token(word) for word in message.content.split()]
            ]
        elif isinstance(request.prompt, str):
            tokens = [START_TOKEN, *(word_token(word) for word in request.prompt.split())]
        else:
            tokens = list(request.prompt)
            if any(not 0 <= token < VOCABULARY_SIZE for token in tokens):
                raise UsageError(f"token ids must lie in 0..{VOCABULARY_SIZE - 1}.")
        self._check_fits(len(tokens))
        return PreparedPrompt(request, tuple(tokens), request.sampling_settings())

    def submit(self, prompt: PreparedPrompt, *, loop: asyncio.AbstractEventLoop | None = None) -> SequenceHandle:
        request = _as_chat(prompt.source, prompt.sampling)
        return self._scheduler.submit(list(self._events(request, prompt.prompt_tokens)), prompt.prompt_tokens, loop)

    def start(self) -> None:
        self._scheduler.start()

    def stats(self) -> EngineStats:
        return self._scheduler.stats()

    @property
    def failure(self) -> str | None:
        return self._scheduler.failure

    def crash(self, error: BaseException) -> None:
        """Break down at the next step, failing what runs and refusing what comes after."""
        self._scheduler.crash(error)

    # -- embeddings -------------------------------------------------------------------------------

    def count_embedding_tokens(self, texts: Sequence[str]) -> int:
        return sum(self._embedding_tokens(text) for text in texts)

    def _embedding_tokens(self, text: str) -> int:
        return 1 + len(text.split())

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        # A deterministic bag-of-letters vector: enough to test plumbing, never a real embedding.
        vectors = []
        for text in texts:
            self._check_fits(self._embedding_tokens(text))
            counts = [0.0] * LETTERS
            for char in text.lower():
                if "a" <= char <= "z":
                    counts[ord(char) - 97] += 1.0
            vectors.append(counts)
        return vectors

    def close(self) -> None:
        self._scheduler.close()
        self.closed = True


def _as_chat(source: AnyRequest, sampling: SamplingSettings) -> GenerationRequest:
    """What the responder sees: a chat request as it was, a raw prompt as one user message (token ids
    written out as numbers), with the sampling this sequence runs with (its choice's seed)."""
    if isinstance(source, GenerationRequest):
        return source.model_copy(update=sampling.model_dump())
    text = source.prompt if isinstance(source.prompt, str) else " ".join(str(token) for token in source.prompt)
    return GenerationRequest.from_prompt(text, **sampling.model_dump())
