"""The Engine seam: typed requests in, typed stream events or results out.

Everything above this module (CLI, serve, audit, fit) speaks only these types; only `serve/`
translates them to and from the OpenAI wire format.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from uptake.errors import EngineError

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "error"]

# One definition of each sampling bound, shared by the chat request and the sampling record.
Temperature = Annotated[float, Field(ge=0.0, le=5.0)]
TopP = Annotated[float, Field(gt=0.0, le=1.0)]
MaxTokens = Annotated[int, Field(ge=1)]
MAX_TOP_LOGPROBS = 20  # alternatives per token, as OpenAI bounds `top_logprobs`
TopLogprobs = Annotated[int, Field(ge=0, le=MAX_TOP_LOGPROBS)]


class EngineBusyError(EngineError):
    """The engine's waiting queue is full; the caller should retry later (serve answers 503)."""


class ToolSpec(BaseModel):
    """A function the model may call: its name, what it does, and a JSON schema of its arguments."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})

    def template_entry(self) -> dict[str, Any]:
        """The shape Hugging Face chat templates read from their `tools` list."""
        function = {"name": self.name, "description": self.description, "parameters": self.parameters}
        return {"type": "function", "function": function}


class ToolCall(BaseModel):
    """One call the model made: an id to answer it by, the function's name, and its arguments as JSON text."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: str  # JSON text of an object


class ChatMessage(BaseModel):
    """One turn. An assistant turn may carry the tool calls it made; a "tool" turn answers the call named by
    `tool_call_id` with its result in `content`."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


class SamplingSettings(BaseModel):
    """How one sequence draws its tokens, and when it ends. `json_schema` constrains the output to JSON
    valid against it; each engine turns it into its own constraint."""

    model_config = ConfigDict(frozen=True)

    temperature: Temperature = 0.7
    top_p: TopP = 0.95
    max_tokens: MaxTokens = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_schema: dict[str, Any] | None = None
    # None: no log-probabilities (and no work for them); k: each generated token's, with the k likeliest
    # alternatives. See TokenLogprob for what the numbers are.
    logprobs: TopLogprobs | None = None


class GenerationRequest(SamplingSettings):
    """One chat generation: the sampling settings and the conversation. `system` is prepended as a
    system message when given."""

    messages: tuple[ChatMessage, ...] = Field(min_length=1)
    system: str | None = None
    # Functions offered to the model through its chat template; forcing a call is a `json_schema` (see
    # engines/tool_calls.py), so engines need nothing more than to render these.
    tools: tuple[ToolSpec, ...] = ()

    @classmethod
    def from_prompt(cls, prompt: str, **settings: Any) -> GenerationRequest:
        return cls(messages=(ChatMessage(role="user", content=prompt),), **settings)

    def all_messages(self) -> list[ChatMessage]:
        """The conversation as the model sees it, with the system prompt first."""
        if self.system is None:
            return list(self.messages)
        return [ChatMessage(role="system", content=self.system), *self.messages]

    def sampling_settings(self) -> SamplingSettings:
        return SamplingSettings(**{name: getattr(self, name) for name in SamplingSettings.model_fields})


class PromptRequest(BaseModel):
    """A raw prompt, read by the model as it is, with no chat template (OpenAI's /v1/completions).

    `prompt` is text (special tokens in it are read as such) or token ids of the model's vocabulary.
    """

    model_config = ConfigDict(frozen=True)

    prompt: str | tuple[int, ...]
    sampling: SamplingSettings = SamplingSettings()

    def sampling_settings(self) -> SamplingSettings:
        return self.sampling


AnyRequest = GenerationRequest | PromptRequest


@dataclass(frozen=True)
class PreparedPrompt:
    """A request rendered and tokenized by one engine and checked against its limits: ready to submit,
    as often as wanted (n choices of one prompt are n submits with their own seeds)."""

    source: AnyRequest
    tokens: tuple[int, ...]
    sampling: SamplingSettings

    @property
    def prompt_tokens(self) -> int:
        return len(self.tokens)

    def with_sampling(self, sampling: SamplingSettings) -> PreparedPrompt:
        return PreparedPrompt(self.source, self.tokens, sampling)


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
class TopLogprob:
    """One candidate for a generated token's place: its id, text, raw bytes and natural-log probability."""

    token_id: int
    token: str
    token_bytes: bytes
    logprob: float


@dataclass(frozen=True)
class TokenLogprob:
    """A generated token's log-probability and its likeliest alternatives (descending; the token itself may be
    among them).

    The numbers are the model's own distribution at temperature 1: a log-softmax over the full vocabulary of
    the logits the sampler read for this token, after a JSON-schema grammar (when the request has one) has
    ruled tokens out, and before the request's temperature, top-k, top-p and min-p. This is what OpenAI
    reports, and what a caller wants to judge the model's certainty; a sampled token may lie outside the
    top alternatives. Natural logarithms; every value is <= 0.
    """

    token_id: int
    token: str
    token_bytes: bytes
    logprob: float
    top: tuple[TopLogprob, ...] = ()


@dataclass(frozen=True)
class TextDelta:
    """New text, and the log-probabilities of the tokens it completes when the request asked for them.

    A token is reported with the first delta that carries any of its text (a token that ends inside a
    UTF-8 character goes with the next one); tokens whose text a stop string held back and cut are not
    reported, nor is the end-of-generation token."""

    text: str
    logprobs: tuple[TokenLogprob, ...] = ()
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
    logprobs: tuple[TokenLogprob, ...] = ()  # when the request asked for them

    @property
    def decode_tokens_per_second(self) -> float:
        if self.timings.decode_s <= 0:
            return 0.0
        return self.usage.completion_tokens / self.timings.decode_s


def collect(events: Iterator[StreamEvent]) -> GenerationResult:
    """Drain a stream into one result."""
    parts: list[str] = []
    logprobs: list[TokenLogprob] = []
    for event in events:
        if isinstance(event, TextDelta):
            parts.append(event.text)
            logprobs.extend(event.logprobs)
        else:
            return GenerationResult("".join(parts), event.reason, event.usage, event.timings, logprobs=tuple(logprobs))
    raise RuntimeError("engine stream ended without a Finish event")


@dataclass(frozen=True)
class EngineInfo:
    """What an engine was loaded with: what serve needs to check requests, and what a run records so
    that its results can be reproduced. The chat template is named by its hash (None: the fallback)."""

    engine: str
    model_path: str | None
    context_size: int  # of a generation alone (`stream`, `generate`)
    context_per_sequence: int  # of each submitted sequence
    parallel: int  # sequences decoded together
    max_waiting: int  # submitted sequences that may wait for a free one before submit refuses
    threads: int | None
    batch_size: int | None
    flash_attention: bool | None
    chat_template_sha256: str | None
    vocabulary_size: int
    embedding_size: int


@dataclass(frozen=True)
class EngineStats:
    """The submitted sequences now, and counters since the engine started."""

    waiting: int
    active: int
    parallel: int
    cancelled: int  # sequences given up by their callers before finishing
    reused_prompt_tokens: int  # prompt tokens not computed because a cached prefix held them


class GenerationHandle(Protocol):
    """One submitted sequence: its events (with `for`, or `async for` when submitted with an event loop),
    and a way to give it up, which frees what it holds in the engine."""

    @property
    def prompt_tokens(self) -> int: ...

    def cancel(self) -> None: ...

    def __iter__(self) -> Iterator[StreamEvent]: ...

    def __aiter__(self) -> AsyncIterator[StreamEvent]: ...


@runtime_checkable
class BatchEngine(Protocol):
    """What batch work needs of an engine (the audit): every Engine is one, and so is a pool of Ray replicas."""

    @property
    def info(self) -> EngineInfo: ...

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]: ...


@runtime_checkable
class Engine(Protocol):
    """What every engine offers. Implementations: LlamaCppEngine, MockEngine."""

    @property
    def info(self) -> EngineInfo: ...

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

    def prepare(self, request: AnyRequest) -> PreparedPrompt:
        """Render and tokenize for `submit`. Raises ContextOverflowError when the prompt does not fit a
        sequence, UsageError when a token id or the JSON schema is not usable."""
        ...

    def submit(self, prompt: PreparedPrompt, *, loop: asyncio.AbstractEventLoop | None = None) -> GenerationHandle:
        """Queue one sequence, decoded alongside the others. With `loop`, its events arrive through that
        event loop (`async for`). Raises EngineBusyError when the waiting queue is full."""
        ...

    def start(self) -> None:
        """Allocate what `submit` needs now, so that a failure shows at load rather than at a first request."""
        ...

    def stats(self) -> EngineStats: ...

    @property
    def failure(self) -> str | None:
        """Why the engine stopped taking submissions, if it did."""
        ...

    def count_embedding_tokens(self, texts: Sequence[str]) -> int:
        """Tokens `embed` reads for these texts."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def close(self) -> None: ...
