"""POST /v1/completions: raw prompts (text or token ids), no chat template."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from uptake.engines.base import PreparedPrompt, PromptRequest, SamplingSettings, TextDelta
from uptake.serve.chat import event_stream_response, finish_reason
from uptake.serve.error_responses import ApiError, unsupported
from uptake.serve.generation import Job, collect, event_stream, sse_frames, submit, usage
from uptake.serve.logprobs import completion_logprobs
from uptake.serve.openai_schema import Completion, CompletionChoice, CompletionRequest, UsageOut
from uptake.serve.registry import ServedModel
from uptake.serve.state import ERROR_RESPONSES, server_state

router = APIRouter()

# OpenAI's legacy completions endpoint stops after 16 tokens unless told otherwise.
DEFAULT_MAX_TOKENS = 16


def _prompts(body: CompletionRequest) -> list[str | list[int]]:
    prompt = body.prompt
    if isinstance(prompt, str):
        return [prompt]
    if prompt and all(isinstance(item, int) for item in prompt):
        return [[int(item) for item in prompt]]  # type: ignore[arg-type]
    return list(prompt)  # type: ignore[arg-type]


def prepare_prompts(
    served: ServedModel, prompts: list[str | list[int]], sampling: SamplingSettings
) -> list[PreparedPrompt]:
    """Text as llama.cpp's own server reads it (special tokens parsed); token ids checked against the vocab."""
    vocabulary = served.engine.info.vocabulary_size
    for index, prompt in enumerate(prompts):
        if isinstance(prompt, list) and any(not 0 <= token < vocabulary for token in prompt):
            raise ApiError(
                400,
                f"prompt {index} holds token ids outside 0..{vocabulary - 1}.",
                code="invalid_value",
                param="prompt",
            )
        if isinstance(prompt, list) and not prompt:
            raise _empty(index)
    prepared = []
    for index, prompt in enumerate(prompts):
        text_or_tokens = prompt if isinstance(prompt, str) else tuple(prompt)
        prepared.append(served.engine.prepare(PromptRequest(prompt=text_or_tokens, sampling=sampling)))
        if not prepared[-1].tokens:
            raise _empty(index)
    return prepared


def _empty(index: int) -> ApiError:
    return ApiError(400, f"prompt {index} is empty.", code="invalid_value", param="prompt")


@router.post(
    "/v1/completions", response_model=Completion, responses={**event_stream_response("Completion"), **ERROR_RESPONSES}
)
async def completions(body: CompletionRequest, request: Request) -> Any:
    state = server_state(request)
    served = state.model(body.model)
    if refused := body.unsupported():
        raise unsupported(refused)
    sampling = SamplingSettings(
        temperature=1.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        max_tokens=body.max_tokens or DEFAULT_MAX_TOKENS,
        stop=body.stops(),
        seed=body.seed,
        logprobs=body.logprobs,
    )
    prompts = await run_in_threadpool(prepare_prompts, served, _prompts(body), sampling)
    job = submit(served, state.metrics, prompts, body.n)
    identity = f"cmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        chunks = completion_chunks(job, identity, created, body.model, include_usage, body.logprobs is not None)
        return event_stream(chunks, job)
    results = await collect(job, request)
    return Completion(
        id=identity,
        created=created,
        model=body.model,
        choices=[
            CompletionChoice(
                index=index,
                text=result.text,
                finish_reason=finish_reason(result.finish),
                logprobs=None if body.logprobs is None else completion_logprobs(result.logprobs),
            )
            for index, result in enumerate(results)
        ],
        usage=usage(job, sum(result.finish.usage.completion_tokens for result in results)),
    )


def completion_chunks(
    job: Job, identity: str, created: int, model: str, include_usage: bool, logprobs: bool = False
) -> AsyncIterator[str]:
    def frame(choices: list[CompletionChoice], usage_out: UsageOut | None) -> Completion:
        return Completion(id=identity, created=created, model=model, choices=choices, usage=usage_out)

    sent = [0] * len(job.handles)  # characters of each choice's text already sent: its next text offset

    def text_choice(index: int, delta: TextDelta) -> CompletionChoice:
        records = completion_logprobs(delta.logprobs, sent[index]) if logprobs else None
        sent[index] += len(delta.text)
        return CompletionChoice(index=index, text=delta.text, logprobs=records)

    return sse_frames(
        job,
        frame,
        text_choice,
        lambda index, finish: [CompletionChoice(index=index, text="", finish_reason=finish_reason(finish))],
        include_usage=include_usage,
    )
