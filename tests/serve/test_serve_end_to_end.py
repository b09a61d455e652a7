"""The server on the real llama.cpp engine and the tiny GGUF, through the official openai client: chat,
completions and embeddings answer as the engine does, and JSON output is constrained by the engine."""

from __future__ import annotations

import json

import httpx
import jsonschema
import numpy as np
import openai
import pytest
from serve_support import CONTEXT

from uptake.engines.base import ChatMessage, GenerationRequest, PromptRequest
from uptake.serve.registry import ModelRegistry

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "hello there"}]


def greedy(content: str, max_tokens: int) -> GenerationRequest:
    return GenerationRequest(
        messages=(ChatMessage(role="user", content=content),), temperature=0.0, max_tokens=max_tokens
    )


async def test_chat_answers_as_the_engine_does_whole_and_streamed(
    tiny_client: openai.AsyncOpenAI, tiny_models: ModelRegistry
) -> None:
    whole = await tiny_client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=8, temperature=0)  # type: ignore[arg-type]
    engine = tiny_models.get("tiny").engine
    assert whole.choices[0].message.content == engine.generate(greedy("hello there", 8)).text
    assert whole.usage is not None
    assert whole.usage.prompt_tokens == engine.count_prompt_tokens(greedy("hello there", 8))
    stream = await tiny_client.chat.completions.create(
        model="tiny-alias", messages=HELLO, max_tokens=8, temperature=0, stream=True  # type: ignore[arg-type]
    )
    streamed = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
    assert streamed == whole.choices[0].message.content


async def test_completions_read_text_and_token_ids_alike(
    tiny_client: openai.AsyncOpenAI, tiny_models: ModelRegistry
) -> None:
    text = await tiny_client.completions.create(model="tiny", prompt="once upon", max_tokens=6, temperature=0)
    tokens = list(tiny_models.get("tiny").engine.prepare(PromptRequest(prompt="once upon")).tokens)
    by_tokens = await tiny_client.completions.create(model="tiny", prompt=tokens, max_tokens=6, temperature=0)
    assert text.choices[0].text == by_tokens.choices[0].text
    assert text.usage is not None and text.usage.prompt_tokens == len(tokens)
    stream = await tiny_client.completions.create(
        model="tiny", prompt="once upon", max_tokens=6, temperature=0, stream=True
    )
    assert "".join([chunk.choices[0].text async for chunk in stream if chunk.choices]) == text.choices[0].text


async def test_embeddings_are_unit_vectors_of_the_model_width(tiny_client: openai.AsyncOpenAI) -> None:
    floats = await tiny_client.embeddings.create(model="tiny", input=["red apple", "blue sky"], encoding_format="float")
    packed = await tiny_client.embeddings.create(model="tiny", input=["red apple", "blue sky"])  # client asks base64
    assert floats.usage.prompt_tokens > 0
    for plain, other in zip(floats.data, packed.data, strict=True):
        assert len(plain.embedding) == 64
        assert np.linalg.norm(plain.embedding) == pytest.approx(1.0, abs=1e-4)
        assert np.allclose(plain.embedding, other.embedding, atol=1e-6)
    assert not np.allclose(floats.data[0].embedding, floats.data[1].embedding)


async def test_json_schema_response_format_gives_valid_json(tiny_client: openai.AsyncOpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"size": {"enum": ["small", "large"]}, "count": {"type": "integer"}},
        "required": ["size", "count"],
    }
    reply = await tiny_client.chat.completions.create(
        model="tiny",
        messages=HELLO,  # type: ignore[arg-type]
        temperature=0,
        max_tokens=100,
        response_format={"type": "json_schema", "json_schema": {"name": "thing", "schema": schema}},
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), schema)


async def test_json_object_response_format_gives_a_json_object(tiny_client: openai.AsyncOpenAI) -> None:
    reply = await tiny_client.chat.completions.create(
        model="tiny", messages=HELLO, temperature=0, max_tokens=CONTEXT, response_format={"type": "json_object"}  # type: ignore[arg-type]
    )
    if reply.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(reply.choices[0].message.content or ""), dict)
    else:  # a random-weight model may fill the context inside a string; it must still be JSON so far
        assert (reply.choices[0].message.content or "").lstrip().startswith("{")


async def test_a_schema_the_engine_cannot_constrain_is_refused(tiny_http: httpx.AsyncClient) -> None:
    bad_schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"$ref": "#/missing"}}}
    schema = await tiny_http.post(
        "/v1/chat/completions", json={"model": "tiny", "messages": HELLO, "response_format": bad_schema}
    )
    assert schema.status_code == 400
    assert "error" in schema.json()
