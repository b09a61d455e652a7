"""Run the choices of one HTTP request on a model's engine, from the event loop.

A request with n choices becomes n submitted sequences. Their events are merged into one stream of
(choice index, event); leaving the stream early (a client that disconnected) cancels every sequence,
which frees what it holds in the engine at the engine's next step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from uptake.engines.base import (
    AnyRequest,
    Finish,
    GenerationHandle,
    PreparedPrompt,
    StreamEvent,
    TextDelta,
    TokenLogprob,
)
from uptake.errors import EngineError, UptakeError
from uptake.serve.error_responses import ApiError, from_uptake_error
from uptake.serve.metrics import ServerMetrics
from uptake.serve.openai_schema import UsageOut
from uptake.serve.registry import ServedModel


@dataclass
class ChoiceResult:
    text: str
    finish: Finish
    logprobs: list[TokenLogprob] = field(default_factory=list)  # when the request asked for them


@dataclass
class Job:
    """The sequences of one HTTP request: one per (prompt, choice), in response order."""

    served: ServedModel
    metrics: ServerMetrics
    handles: list[GenerationHandle] = field(default_factory=list)
    prompt_tokens: int = 0  # n choices of one prompt share it: counted once, as OpenAI does

    def cancel(self) -> None:
        for handle in self.handles:
            handle.cancel()


def choice_prompts(prompt: PreparedPrompt, choices: int) -> list[PreparedPrompt]:
    """Choice i draws with seed + i, so n seeded choices differ from each other yet repeat exactly."""
    seed = prompt.sampling.seed
    if seed is None:
        return [prompt] * choices
    return [prompt.with_sampling(prompt.sampling.model_copy(update={"seed": seed + index})) for index in range(choices)]


async def prepare(served: ServedModel, request: AnyRequest) -> PreparedPrompt:
    """Render and tokenize off the event loop: templates and long prompts take real time."""
    return await run_in_threadpool(served.engine.prepare, request)


def submit(served: ServedModel, metrics: ServerMetrics, prompts: Sequence[PreparedPrompt], choices: int) -> Job:
    """Queue every sequence, or none: a refusal part-way cancels the ones already queued."""
    job = Job(served, metrics)
    loop = asyncio.get_running_loop()
    try:
        for prompt in prompts:
            job.prompt_tokens += prompt.prompt_tokens
            for choice in choice_prompts(prompt, choices):
                job.handles.append(served.engine.submit(choice, loop=loop))
    except BaseException:
        job.cancel()
        raise
    return job


async def events(job: Job) -> AsyncIterator[tuple[int, StreamEvent]]:
    """Every choice's events as they come, tagged with the choice index."""
    merged: asyncio.Queue[tuple[int, StreamEvent | BaseException | None]] = asyncio.Queue()

    async def pump(index: int, handle: GenerationHandle) -> None:
        try:
            async for event in handle:
                await merged.put((index, event))
        except BaseException as error:
            await merged.put((index, error))
            return
        await merged.put((index, None))

    tasks = [asyncio.create_task(pump(index, handle)) for index, handle in enumerate(job.handles)]
    try:
        remaining = len(tasks)
        while remaining:
            index, item = await merged.get()
            if item is None:
                remaining -= 1
                continue
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, Finish):
                job.metrics.record_finish(job.served.name, item)
            yield index, item
    finally:
        job.cancel()
        for task in tasks:
            task.cancel()


async def collect(job: Job, request: Request) -> list[ChoiceResult]:
    """Wait for every choice; give up (and free the sequences) if the client goes away first."""
    texts: list[list[str]] = [[] for _ in job.handles]
    logprobs: list[list[TokenLogprob]] = [[] for _ in job.handles]
    finishes: list[Finish | None] = [None] * len(job.handles)

    async def gather() -> None:
        async for index, event in events(job):
            if isinstance(event, TextDelta):
                texts[index].append(event.text)
                logprobs[index].extend(event.logprobs)
            else:
                finishes[index] = event

    work = asyncio.create_task(gather())
    watcher = asyncio.create_task(_disconnected(request))
    try:
        done, _ = await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if work not in done:
            job.cancel()
            raise ApiError(499, "the client closed the connection.", code="client_closed")
        work.result()
    finally:
        job.cancel()  # a no-op for finished sequences; frees the rest however we got here
        for task in (work, watcher):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    results = []
    for parts, finish, records in zip(texts, finishes, logprobs, strict=True):
        if finish is None:
            raise EngineError("a sequence ended without finishing; see the server log.")
        results.append(ChoiceResult("".join(parts), finish, records))
    return results


async def _disconnected(request: Request) -> None:
    """Returns when the client disconnects (the request body has already been read)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def event_stream(chunks: AsyncIterator[str], job: Job) -> StreamingResponse:
    """Server-sent events for a job; the job is cancelled once the response ends, even if it never started."""
    return StreamingResponse(
        chunks,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(job.cancel),
    )


def usage(job: Job, completion_tokens: int) -> UsageOut:
    return UsageOut(
        prompt_tokens=job.prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=job.prompt_tokens + completion_tokens,
    )


Choice = TypeVar("Choice")


async def sse_frames(
    job: Job,
    frame: Callable[[list[Choice], UsageOut | None], BaseModel],
    text_choice: Callable[[int, TextDelta], Choice | None],
    finish_choice: Callable[[int, Finish], Sequence[Choice]],
    *,
    include_usage: bool,
    opening: list[Choice] | None = None,
) -> AsyncIterator[str]:
    """The events of a streamed job, for any endpoint's chunk shape: the opening choices if any, a chunk
    per text delta (unless `text_choice` holds it back: None) and per choice `finish_choice` gives for a
    finished sequence, the usage when asked for, then [DONE]. An engine error ends
    the stream with an error event; the job is cancelled however the stream ends."""

    def data(choices: list[Choice], usage_out: UsageOut | None = None) -> str:
        return f"data: {frame(choices, usage_out).model_dump_json(exclude_none=True)}\n\n"

    completion_tokens = 0
    try:
        if opening is not None:
            yield data(opening)
        async for index, event in events(job):
            if isinstance(event, TextDelta):
                if (choice := text_choice(index, event)) is not None:
                    yield data([choice])
            else:
                completion_tokens += event.usage.completion_tokens
                for choice in finish_choice(index, event):
                    yield data([choice])
    except UptakeError as error:
        yield from_uptake_error(error).sse_event()
        return
    finally:
        job.cancel()
    if include_usage:
        yield data([], usage(job, completion_tokens))
    yield "data: [DONE]\n\n"
