"""The server through the official openai client, in-process (httpx.ASGITransport), on a scripted engine:
the wire format, errors, health and metrics are the server's own logic. test_serve_end_to_end runs the
same client against the real llama.cpp engine."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import numpy as np
import openai
import pytest
from serve_support import CONTEXT, mock_engine, registry_of

from uptake.engines.base import PromptRequest
from uptake.serve.app import create_app
from uptake.serve.completions import DEFAULT_MAX_TOKENS
from uptake.serve.registry import ModelRegistry, ServedModel

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "hello there"}]


async def test_models_are_listed_by_name_and_alias(client: openai.AsyncOpenAI) -> None:
    listed = await client.models.list()
    assert [model.id for model in listed.data] == ["tiny", "tiny-alias"]
    assert (await client.models.retrieve("tiny-alias")).id == "tiny-alias"
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("missing")


async def test_chat_completion_answers_with_usage(client: openai.AsyncOpenAI, models: ModelRegistry) -> None:
    reply = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=8, temperature=0)
    choice = reply.choices[0]
    assert reply.object == "chat.completion"
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length")
    assert reply.usage is not None
    assert reply.usage.completion_tokens <= 8
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    served = models.get("tiny")
    assert reply.usage.prompt_tokens == served.engine.count_prompt_tokens(_request(HELLO))
    engine_text = served.engine.generate(_request(HELLO, max_tokens=8)).text
    assert choice.message.content == engine_text


def _request(messages: list[dict[str, str]], **settings: object) -> object:
    from uptake.engines.base import ChatMessage, GenerationRequest

    return GenerationRequest(
        messages=tuple(ChatMessage(role=m["role"], content=m["content"]) for m in messages),  # type: ignore[arg-type]
        temperature=0.0,
        **settings,
    )


async def test_an_alias_reaches_the_same_model(client: openai.AsyncOpenAI) -> None:
    by_name = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=6, temperature=0)
    by_alias = await client.chat.completions.create(model="tiny-alias", messages=HELLO, max_tokens=6, temperature=0)
    assert by_alias.choices[0].message.content == by_name.choices[0].message.content
    assert by_alias.model == "tiny-alias"


async def test_streaming_gives_the_same_text_and_reports_usage(client: openai.AsyncOpenAI) -> None:
    whole = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=12, temperature=0)
    stream = await client.chat.completions.create(
        model="tiny",
        messages=HELLO,
        max_tokens=12,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    parts, reasons, usages, roles = [], [], [], []
    async for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        if chunk.usage is not None:
            usages.append(chunk.usage)
            assert chunk.choices == []
        for choice in chunk.choices:
            parts.append(choice.delta.content or "")
            roles.append(choice.delta.role)
            if choice.finish_reason:
                reasons.append(choice.finish_reason)
    assert "".join(parts) == whole.choices[0].message.content
    assert reasons == [whole.choices[0].finish_reason]
    assert roles[0] == "assistant"
    assert len(usages) == 1 and usages[0] == whole.usage


async def test_n_choices_with_a_seed_differ_and_repeat(client: openai.AsyncOpenAI) -> None:
    settings = {"model": "tiny", "messages": HELLO, "max_tokens": 10, "temperature": 1.0, "seed": 5, "n": 3}
    first = await client.chat.completions.create(**settings)  # type: ignore[call-overload]
    again = await client.chat.completions.create(**settings)  # type: ignore[call-overload]
    texts = [choice.message.content for choice in first.choices]
    assert [choice.index for choice in first.choices] == [0, 1, 2]
    assert texts == [choice.message.content for choice in again.choices]
    assert len(set(texts)) == 3
    assert first.usage is not None and first.usage.completion_tokens == 30


async def test_stop_strings_cut_the_reply(client: openai.AsyncOpenAI) -> None:
    free = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=16, temperature=0)
    text = free.choices[0].message.content or ""
    stop = text[4:6]
    cut = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=16, temperature=0, stop=[stop])
    assert cut.choices[0].message.content == text[: text.index(stop)]
    assert cut.choices[0].finish_reason == "stop"


async def test_completions_take_several_prompts_text_or_tokens(
    client: openai.AsyncOpenAI, models: ModelRegistry
) -> None:
    text = await client.completions.create(model="tiny", prompt="once upon", max_tokens=6, temperature=0)
    assert text.object == "text_completion"
    assert text.choices[0].text.startswith("once upon")
    several = await client.completions.create(
        model="tiny", prompt=["once upon", "a time"], max_tokens=4, temperature=0, n=2
    )
    assert [choice.index for choice in several.choices] == [0, 1, 2, 3]
    assert several.choices[0].text == several.choices[1].text != several.choices[2].text
    engine = models.get("tiny").engine
    prompt_tokens = sum(engine.prepare(PromptRequest(prompt=p)).prompt_tokens for p in ("once upon", "a time"))
    assert several.usage is not None and several.usage.prompt_tokens == prompt_tokens
    by_tokens = await client.completions.create(model="tiny", prompt=[5, 6, 7], max_tokens=6, temperature=0)
    assert by_tokens.usage is not None and by_tokens.usage.prompt_tokens == 3
    default_length = await client.completions.create(model="tiny", prompt="x", temperature=0)
    assert default_length.usage is not None and default_length.usage.completion_tokens == DEFAULT_MAX_TOKENS


async def test_streamed_completions_match_whole_ones(client: openai.AsyncOpenAI) -> None:
    whole = await client.completions.create(model="tiny", prompt="stream me", max_tokens=8, temperature=0)
    stream = await client.completions.create(model="tiny", prompt="stream me", max_tokens=8, temperature=0, stream=True)
    text = "".join([chunk.choices[0].text async for chunk in stream if chunk.choices])
    assert text == whole.choices[0].text


async def test_embeddings_come_as_floats_or_base64_of_the_same_vectors(
    client: openai.AsyncOpenAI, models: ModelRegistry
) -> None:
    floats = await client.embeddings.create(model="tiny", input=["red apple", "blue sky"], encoding_format="float")
    packed = await client.embeddings.create(model="tiny", input=["red apple", "blue sky"])  # client asks base64
    assert [item.index for item in floats.data] == [0, 1]
    engine = models.get("tiny").engine
    assert floats.usage.prompt_tokens == engine.count_embedding_tokens(["red apple", "blue sky"])
    for plain, other, expected in zip(floats.data, packed.data, engine.embed(["red apple", "blue sky"]), strict=True):
        assert plain.embedding == expected
        assert np.allclose(plain.embedding, other.embedding, atol=1e-6)
    assert not np.allclose(floats.data[0].embedding, floats.data[1].embedding)
    with pytest.raises(openai.BadRequestError):
        await client.embeddings.create(model="tiny", input="x", dimensions=engine.info.embedding_size - 1)


async def test_raw_base64_embeddings_are_little_endian_float32(http: httpx.AsyncClient) -> None:
    body = {"model": "tiny", "input": "red apple", "encoding_format": "base64"}
    packed = (await http.post("/v1/embeddings", json=body)).json()["data"][0]["embedding"]
    plain = (await http.post("/v1/embeddings", json={**body, "encoding_format": "float"})).json()
    vector = np.frombuffer(base64.b64decode(packed), dtype="<f4")
    assert np.allclose(vector, plain["data"][0]["embedding"], atol=1e-6)


# -- errors -----------------------------------------------------------------------------------------


async def test_unknown_model_is_a_404_naming_what_is_served(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as refused:
        await client.chat.completions.create(model="gpt-9", messages=HELLO)
    assert refused.value.code == "model_not_found"
    assert "tiny" in refused.value.message


async def test_a_prompt_longer_than_the_context_is_a_400_not_a_truncation(client: openai.AsyncOpenAI) -> None:
    long_messages = [{"role": "user", "content": "word " * CONTEXT}]
    with pytest.raises(openai.BadRequestError) as refused:
        await client.chat.completions.create(model="tiny", messages=long_messages)  # type: ignore[arg-type]
    assert refused.value.code == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError):
        await client.completions.create(model="tiny", prompt="word " * CONTEXT)
    with pytest.raises(openai.BadRequestError):
        await client.embeddings.create(model="tiny", input="word " * CONTEXT)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "tiny", "messages": []}, "messages"),
        ({"model": "tiny", "messages": HELLO, "temperature": 3}, "temperature"),
        ({"model": "tiny", "messages": HELLO, "max_tokens": 0}, "max_tokens"),
        ({"model": "tiny", "messages": HELLO, "n": 0}, "n"),
        ({"model": "tiny", "messages": HELLO, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": "tiny", "messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
        ({"messages": HELLO}, "model"),
        ({"model": "tiny", "messages": HELLO, "presence_penalty": 1.0}, "presence_penalty"),
        ({"model": "tiny", "messages": HELLO, "logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"model": "tiny", "messages": HELLO, "response_format": {"type": "yaml"}}, "response_format"),
    ],
)
async def test_bad_parameters_are_400s_in_openai_shape(
    http: httpx.AsyncClient, body: dict[str, object], param: str
) -> None:
    answer = await http.post("/v1/chat/completions", json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert (error["param"] or "").startswith(param)


async def test_malformed_json_and_wrong_routes_are_openai_errors(http: httpx.AsyncClient) -> None:
    broken = await http.post(
        "/v1/chat/completions", content=b'{"model": "tiny", "messages": [', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "invalid_json"
    missing = await http.get("/v1/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong_method = await http.get("/v1/chat/completions")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


async def test_bad_and_empty_token_prompts_are_refused(http: httpx.AsyncClient) -> None:
    tokens = await http.post("/v1/completions", json={"model": "tiny", "prompt": [1, 99999999]})
    assert tokens.status_code == 400 and tokens.json()["error"]["param"] == "prompt"
    assert "prompt 0 holds token ids outside" in tokens.json()["error"]["message"]
    empty = await http.post("/v1/completions", json={"model": "tiny", "prompt": [[1], []]})
    assert empty.status_code == 400 and empty.json()["error"]["message"] == "prompt 1 is empty."


async def test_a_huge_body_is_refused_before_it_is_read(app: object, models: ModelRegistry) -> None:
    from uptake.serve.app import create_app

    async def chunked_body() -> AsyncIterator[bytes]:  # no Content-Length: the limit must count bytes
        for _ in range(10):
            yield b" " * 500

    small = create_app(models, max_body_bytes=1000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small), base_url="http://t") as http:
        declared = await http.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO * 100})
        streamed = await http.post(
            "/v1/chat/completions", content=chunked_body(), headers={"content-type": "application/json"}
        )
    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "request_too_large"


# -- health and metrics -----------------------------------------------------------------------------


async def test_health_is_503_while_loading_then_200(models: ModelRegistry) -> None:
    from uptake.serve.app import create_app

    loading = ModelRegistry()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(loading)), base_url="http://t") as http:
        assert (await http.get("/health")).status_code == 503
        early = await http.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
        assert early.status_code == 503
        assert early.headers["retry-after"] == "1"
        assert early.json()["error"]["code"] == "model_loading"
        loading.add(models.get("tiny"))
        loading.mark_ready()
        ready = await http.get("/health")
        assert ready.status_code == 200 and ready.json() == {"status": "ok", "models": ["tiny"]}
        loading.mark_failed("disk on fire")
        failed = await http.get("/health")
        assert failed.status_code == 503 and failed.json()["message"] == "disk on fire"


async def test_metrics_count_requests_tokens_and_timings(http: httpx.AsyncClient, client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=5, temperature=0)
    with pytest.raises(openai.NotFoundError):
        await client.chat.completions.create(model="nope", messages=HELLO)
    text = (await http.get("/metrics")).text
    assert 'uptake_requests_total{route="/v1/chat/completions",status="200"} 1.0' in text
    assert 'uptake_requests_total{route="/v1/chat/completions",status="404"} 1.0' in text
    assert reply.usage is not None
    assert f'uptake_completion_tokens_total{{model="tiny"}} {float(reply.usage.completion_tokens)}' in text
    assert 'uptake_time_to_first_token_seconds_count{model="tiny"} 1.0' in text
    assert 'uptake_active_sequences{model="tiny"} 0.0' in text
    assert 'uptake_queue_depth{model="tiny"} 0.0' in text
    assert "uptake_tokens_per_second_bucket" in text


async def test_a_broken_engine_shows_on_health_and_fails_requests_cleanly() -> None:
    engine = mock_engine()
    broken = registry_of(engine)
    try:
        engine.crash(RuntimeError("simulated backend crash"))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(broken)), base_url="http://t"
        ) as http:
            first = await http.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
            assert first.status_code == 500
            assert first.json()["error"]["type"] == "server_error"
            health = await http.get("/health")
            assert health.status_code == 503
            assert "simulated backend crash" in health.json()["message"]
            later = await http.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
            assert later.status_code == 500 and "stopped after an error" in later.json()["error"]["message"]
    finally:
        broken.close()


async def test_several_models_are_served_side_by_side() -> None:
    models = ModelRegistry()
    for name, alias in (("first", "a"), ("second", "b")):
        engine = mock_engine(responder=lambda request, name=name: f"this is the {name} model")
        models.add(ServedModel(name=name, engine=engine, aliases=(alias,)))
    models.mark_ready()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(models)), base_url="http://t"
        ) as http:
            client = openai.AsyncOpenAI(api_key="x", base_url="http://t/v1", http_client=http, max_retries=0)
            assert [model.id for model in (await client.models.list()).data] == ["first", "a", "second", "b"]
            replies = {}
            for name in ("first", "a", "second", "b"):
                reply = await client.chat.completions.create(model=name, messages=HELLO, max_tokens=8, temperature=0)  # type: ignore[arg-type]
                replies[name] = reply.choices[0].message.content
            assert replies["first"] == replies["a"] and replies["second"] == replies["b"]
            assert replies["first"] != replies["second"]
    finally:
        models.close()
