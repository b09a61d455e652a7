"""POST /v1/chat/completions, streamed as server-sent events or answered whole."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from uptake.engines.base import ChatMessage, Finish, GenerationRequest, TextDelta
from uptake.serve.error_responses import ApiError, unsupported
from uptake.serve.generation import Job, collect, event_stream, prepare, sse_frames, submit, usage
from uptake.serve.logprobs import chat_logprobs
from uptake.serve.openai_schema import (
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    ChatMessageOut,
    FinishReasonOut,
    UsageOut,
)
from uptake.serve.registry import ServedModel
from uptake.serve.state import ERROR_RESPONSES, server_state

router = APIRouter()

ANY_JSON_OBJECT: dict[str, Any] = {"type": "object"}


def event_stream_response(chunk_model: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI 3.1 has no field for the schema of each event, so it goes in an extension field."""
    return {
        200: {
            "description": f"The answer; with stream=true, server-sent events whose data are {chunk_model} objects, "
            "then [DONE].",
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string"},
                    "x-event-schema": {"$ref": f"#/components/schemas/{chunk_model}"},
                }
            },
        }
    }


def generation_request(body: ChatCompletionRequest, served: ServedModel) -> GenerationRequest:
    """The wire request in engine terms. 'developer' is OpenAI's new name for the system role."""
    messages = tuple(
        ChatMessage(role="system" if m.role == "developer" else m.role, content=m.text()) for m in body.messages
    )
    schema = None
    if body.response_format is not None and body.response_format.type == "json_object":
        schema = ANY_JSON_OBJECT
    elif body.response_format is not None and body.response_format.type == "json_schema":
        schema = body.response_format.json_schema.schema_
    try:
        return GenerationRequest(
            messages=messages,
            temperature=1.0 if body.temperature is None else body.temperature,
            top_p=1.0 if body.top_p is None else body.top_p,
            max_tokens=body.token_limit() or served.engine.info.context_per_sequence,
            stop=body.stops(),
            seed=body.seed,
            json_schema=schema,
            logprobs=body.logprob_alternatives(),
        )
    except ValidationError as error:
        raise ApiError(400, f"invalid request: {error.errors()[0]['msg']}", code="invalid_value") from error


def finish_reason(finish: Finish) -> FinishReasonOut:
    return "length" if finish.reason == "length" else "stop"


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    responses={**event_stream_response("ChatCompletionChunk"), **ERROR_RESPONSES},
)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
    state = server_state(request)
    served = state.model(body.model)
    if refused := body.unsupported():
        raise unsupported(refused)
    prompt = await prepare(served, generation_request(body, served))
    job = submit(served, state.metrics, [prompt], body.n)
    identity = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        chunks = chat_chunks(job, identity, created, body.model, include_usage, bool(body.logprobs))
        return event_stream(chunks, job)
    results = await collect(job, request)
    return ChatCompletion(
        id=identity,
        created=created,
        model=body.model,
        choices=[
            ChatChoice(
                index=index,
                message=ChatMessageOut(content=result.text),
                finish_reason=finish_reason(result.finish),
                logprobs=chat_logprobs(result.logprobs) if body.logprobs else None,
            )
            for index, result in enumerate(results)
        ],
        usage=usage(job, sum(result.finish.usage.completion_tokens for result in results)),
    )


def chat_chunks(
    job: Job, identity: str, created: int, model: str, include_usage: bool, logprobs: bool = False
) -> AsyncIterator[str]:
    def frame(choices: list[ChatChunkChoice], usage_out: UsageOut | None) -> ChatCompletionChunk:
        return ChatCompletionChunk(id=identity, created=created, model=model, choices=choices, usage=usage_out)

    def text_choice(index: int, delta: TextDelta) -> ChatChunkChoice:
        records = chat_logprobs(delta.logprobs) if logprobs else None
        return ChatChunkChoice(index=index, delta=ChatDelta(content=delta.text), logprobs=records)

    opening = ChatDelta(role="assistant", content="")
    return sse_frames(
        job,
        frame,
        text_choice,
        lambda index, finish: ChatChunkChoice(index=index, delta=ChatDelta(), finish_reason=finish_reason(finish)),
        include_usage=include_usage,
        opening=[ChatChunkChoice(index=index, delta=opening) for index in range(len(job.handles))],
    )
