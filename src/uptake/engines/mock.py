"""A scripted engine for testing the layers above the seam. It never pretends to be a model:
it returns exactly what the test scripted, and records what it was asked."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from uptake.engines.base import (
    Finish,
    GenerationRequest,
    GenerationResult,
    StreamEvent,
    TextDelta,
    Timings,
    Usage,
    collect,
)
from uptake.errors import ContextOverflowError

Responder = Callable[[GenerationRequest], str]


class MockEngine:
    """Answers from a queue of scripted replies, or from a function of the request.

    Tokens are whitespace-separated words, so usage figures are predictable in tests.
    """

    def __init__(
        self,
        replies: Sequence[str] | None = None,
        *,
        responder: Responder | None = None,
        context_size: int = 4096,
    ) -> None:
        self._queue: list[str] = list(replies or [])
        self._responder = responder
        self._context_size = context_size
        self.requests: list[GenerationRequest] = []
        self.batches: list[int] = []
        self.closed = False

    @property
    def context_size(self) -> int:
        return self._context_size

    def enqueue(self, *replies: str) -> None:
        self._queue.extend(replies)

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        return sum(len(m.content.split()) + 4 for m in request.all_messages())

    def _reply(self, request: GenerationRequest) -> str:
        if self._queue:
            return self._queue.pop(0)
        if self._responder is not None:
            return self._responder(request)
        return request.messages[-1].content

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        prompt_tokens = self.count_prompt_tokens(request)
        if prompt_tokens > self._context_size:
            raise ContextOverflowError(prompt_tokens, self._context_size)
        self.requests.append(request)
        words = self._reply(request).split(" ")
        reason: str = "stop"
        if len(words) > request.max_tokens:
            words = words[: request.max_tokens]
            reason = "length"
        text = " ".join(words)
        for stop in request.stop:
            if stop and stop in text:
                text = text[: text.index(stop)]
                reason = "stop"
        emitted = text.split(" ") if text else []
        for index, word in enumerate(emitted):
            yield TextDelta(word if index == 0 else " " + word)
        yield Finish(
            reason="stop" if reason == "stop" else "length",
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=len(emitted)),
            timings=Timings(prompt_s=0.0, decode_s=0.0),
        )

    def generate(self, request: GenerationRequest) -> GenerationResult:
        return collect(self.stream(request))

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        self.batches.append(len(requests))
        return [self.generate(request) for request in requests]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        # A deterministic bag-of-letters vector: enough to test plumbing, never a real embedding.
        vectors = []
        for text in texts:
            counts = [0.0] * 26
            for char in text.lower():
                if "a" <= char <= "z":
                    counts[ord(char) - 97] += 1.0
            vectors.append(counts)
        return vectors

    def close(self) -> None:
        self.closed = True
