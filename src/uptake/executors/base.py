"""The executor seam: one request in, one completion (text, token probabilities, counts) out, asynchronously."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from uptake.engines.base import GenerationRequest


@dataclass(frozen=True)
class TokenProbability:
    """A generated token's bytes and natural-log probability (from the engine or an OpenAI response)."""

    data: bytes
    logprob: float


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str  # "stop", "length", or "error" (then `error` says why)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens: tuple[TokenProbability, ...] = ()  # when the request asked for log-probabilities
    error: str | None = None
    seconds: float = 0.0


class Executor(Protocol):
    @property
    def concurrency(self) -> int:
        """How many requests may be in flight at once to keep it busy without queueing without bound."""
        ...

    def describe(self) -> dict[str, Any]:
        """What a run records about where it ran (kind, endpoint or engine settings)."""
        ...

    def counters(self) -> dict[str, int]:
        """What the run's summary records about the work itself (prompt tokens reused, requests retried)."""
        ...

    async def complete(self, request: GenerationRequest) -> Completion:
        """Never raises for a failure of one request: that is a Completion with an error."""
        ...

    async def aclose(self) -> None: ...
