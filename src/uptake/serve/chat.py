"""POST /v1/chat/completions, streamed as server-sent events or answered whole."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from uptake.engines.base import Finish, GenerationRequest, TextDelta, TokenLogprob
from uptake.engines.tool_calls import ParsedOutput, forced_call_schema, parse_tool_calls
from uptake.serve.error_responses import ApiError, unsupported
from uptake.serve.generation import ChoiceResult, Job, collect, event_stream, prepare, sse_frames, submit, usage
from uptake.serve.logprobs import chat_logprobs
from uptake.serve.openai_schema import (
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    FinishReasonOut,
    UsageOut,
)
from uptake.serve.registry import ServedModel
from uptake.serve.state import ERROR_RESPONSES, server_state
from uptake.serve.tools import StreamedChoice, call_deltas, engine_message, message_out, tool_specs

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
    """The wire request in engine terms. A forced tool call is a JSON schema that only admits a call."""
    messages = tuple(engine_message(m) for m in body.messages)
    schema = None
    if forced := body.forced_tools():
        schema = forced_call_schema(tool_specs(forced))
    elif body.response_format is not None and body.response_format.type == "json_object":
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
            tools=tool_specs(body.offered_tools()),
        )
    except ValidationError as error:
        raise ApiError(400, f"invalid request: {error.errors()[0]['msg']}", code="invalid_value") from error


def finish_reason(finish: Finish, called: bool = False) -> FinishReasonOut:
    if called:
        return "tool_calls"
    return "length" if finish.reason == "length" else "stop"


def parsed_output(result: ChoiceResult, request: GenerationRequest, parallel: bool) -> ParsedOutput:
    if not request.tools:
        return ParsedOutput(result.text, ())
    return parse_tool_calls(result.text, request.tools, parallel=parallel)


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
    generation = generation_request(body, served)
    prompt = await prepare(served, generation)
    job = submit(served, state.metrics, [prompt], body.n)
    identity = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    parallel = body.parallel_tool_calls is not False
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        choices = [StreamedChoice(generation.tools, parallel) for _ in job.handles]
        chunks = chat_chunks(job, identity, created, body.model, include_usage, bool(body.logprobs), choices)
        return event_stream(chunks, job)
    results = await collect(job, request)
    outputs = [parsed_output(result, generation, parallel) for result in results]
    return ChatCompletion(
        id=identity,
        created=created,
        model=body.model,
        choices=[
            ChatChoice(
                index=index,
                message=message_out(output),
                finish_reason=finish_reason(result.finish, called=bool(output.calls)),
                logprobs=chat_logprobs(result.logprobs) if body.logprobs else None,
            )
            for index, (result, output) in enumerate(zip(results, outputs, strict=True))
        ],
        usage=usage(job, sum(result.finish.usage.completion_tokens for result in results)),
    )


def chat_chunks(
    job: Job,
    identity: str,
    created: int,
    model: str,
    include_usage: bool,
    logprobs: bool,
    streamed: list[StreamedChoice],
) -> AsyncIterator[str]:
    def frame(choices: list[ChatChunkChoice], usage_out: UsageOut | None) -> ChatCompletionChunk:
        return ChatCompletionChunk(id=identity, created=created, model=model, choices=choices, usage=usage_out)

    def content_choice(index: int, text: str, records: list[TokenLogprob]) -> ChatChunkChoice:
        out = chat_logprobs(tuple(records)) if logprobs else None
        return ChatChunkChoice(index=index, delta=ChatDelta(content=text), logprobs=out)

    def text_choice(index: int, delta: TextDelta) -> ChatChunkChoice | None:
        text, records = streamed[index].content(delta)
        return content_choice(index, text, records) if text else None

    def finish_choices(index: int, finish: Finish) -> list[ChatChunkChoice]:
        text, records, calls = streamed[index].finish()
        choices = [content_choice(index, text, records)] if text else []
        if calls:
            choices.extend(
                ChatChunkChoice(index=index, delta=ChatDelta(tool_calls=[piece])) for piece in call_deltas(calls)
            )
        end = ChatChunkChoice(index=index, delta=ChatDelta(), finish_reason=finish_reason(finish, called=bool(calls)))
        return [*choices, end]

    opening = ChatDelta(role="assistant", content="")
    return sse_frames(
        job,
        frame,
        text_choice,
        finish_choices,
        include_usage=include_usage,
        opening=[ChatChunkChoice(index=index, delta=opening) for index in range(len(job.handles))],
    )
