"""The Engine seam: typed requests in, typed stream events or results out.

Everything above this module (CLI, serve, audit, fit) speaks only these types; only `serve/`
translates them to and from the OpenAI wire format.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "error"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class GenerationRequest(BaseModel):
    """One generation. `system` is prepended as a system message when given."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[ChatMessage, ...] = Field(min_length=1)
    system: str | None = None
    temperature: float = Field(default=0.7, ge=0.0, le=5.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    max_tokens: int = Field(default=512, ge=1)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_schema: dict[str, Any] | None = None

    @classmethod
    def from_prompt(cls, prompt: str, **settings: Any) -> GenerationRequest:
        return cls(messages=(ChatMessage(role="user", content=prompt),), **settings)

    def all_messages(self) -> list[ChatMessage]:
        """The conversation as the model sees it, with the system prompt first."""
        if self.system is None:
            return list(self.messages)
        return [ChatMessage(role="system", content=self.system), *self.messages]


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Timings:
    """Wall-clock phases of one generation, in seconds."""

    prompt_s: float
    decode_s: float

    @property
    def total_s(self) -> float:
        return self.prompt_s + self.decode_s


@dataclass(frozen=True)
class TextDelta:
    text: str
    kind: Literal["delta"] = "delta"


@dataclass(frozen=True)
class Finish:
    reason: FinishReason
    usage: Usage
    timings: Timings
    kind: Literal["finish"] = "finish"


StreamEvent = TextDelta | Finish


@dataclass(frozen=True)
class GenerationResult:
    text: str
    finish_reason: FinishReason
    usage: Usage
    timings: Timings
    error: str | None = field(default=None)

    @property
    def decode_tokens_per_second(self) -> float:
        if self.timings.decode_s <= 0:
            return 0.0
        return self.usage.completion_tokens / self.timings.decode_s


def collect(events: Iterator[StreamEvent]) -> GenerationResult:
    """Drain a stream into one result."""
    parts: list[str] = []
    for event in events:
        if isinstance(event, TextDelta):
            parts.append(event.text)
        else:
            return GenerationResult("".join(parts), event.reason, event.usage, event.timings)
    raise RuntimeError("engine stream ended without a Finish event")


@runtime_checkable
class Engine(Protocol):
    """What every engine offers. Implementations: LlamaCppEngine, MockEngine."""

    @property
    def context_size(self) -> int: ...

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        """Yield text deltas, then exactly one Finish."""
        ...

    def generate(self, request: GenerationRequest) -> GenerationResult: ...

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Run many requests; results come back in request order. Engines may decode them together."""
        ...

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        """Tokens the rendered prompt of this request takes."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def close(self) -> None: ...
