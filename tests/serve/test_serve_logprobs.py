"""Log-probabilities on the wire, read by the official openai client: chat (whole and streamed) and the
legacy completions shape, on the scripted engine (whose numbers are known) and on the tiny GGUF."""

from __future__ import annotations

import math

import httpx
import openai
import pytest

from uptake.engines.base import GenerationRequest
from uptake.serve.registry import ModelRegistry

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "hello there"}]
# The mock answers "hello there w0.0 w0.1 ..." one word a token; its logprob is -0.1 per position.
WORDS = ["hello", " there", " w0.0", " w0.1"]


async def test_chat_reports_each_tokens_logprob_and_alternatives(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model="tiny", messages=HELLO, max_tokens=4, seed=0, logprobs=True, top_logprobs=3
    )
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None and logprobs.content is not None
    assert [entry.token for entry in logprobs.content] == WORDS
    assert [entry.logprob for entry in logprobs.content] == pytest.approx([-0.1, -0.2, -0.3, -0.4])
    first = logprobs.content[0]
    assert first.bytes == list(b"hello")
    assert [top.token for top in first.top_logprobs] == ["hello", "alt1", "alt2"]
    assert [top.logprob for top in first.top_logprobs] == pytest.approx([-0.1, -1.1, -2.1])
    assert first.top_logprobs[1].bytes == list(b"alt1")


async def test_logprobs_without_top_give_the_tokens_alone(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=2, seed=0, logprobs=True)
    content = reply.choices[0].logprobs.content  # type: ignore[union-attr]
    assert content is not None and [entry.top_logprobs for entry in content] == [[], []]


async def test_streamed_chunks_carry_their_tokens_logprobs(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="tiny", messages=HELLO, max_tokens=4, seed=0, logprobs=True, top_logprobs=2, stream=True
    )
    tokens, texts = [], []
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                texts.append(choice.delta.content)
                assert choice.logprobs is not None and choice.logprobs.content is not None
                assert "".join(entry.token for entry in choice.logprobs.content) == choice.delta.content
                tokens.extend(choice.logprobs.content)
    assert "".join(texts) == "".join(WORDS)
    assert [entry.logprob for entry in tokens] == pytest.approx([-0.1, -0.2, -0.3, -0.4])
    assert all(len(entry.top_logprobs) == 2 for entry in tokens)


async def test_without_logprobs_no_choice_has_any(client: openai.AsyncOpenAI, http: httpx.AsyncClient) -> None:
    reply = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=2)
    assert reply.choices[0].logprobs is None
    raw = await http.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO, "max_tokens": 2})
    assert raw.json()["choices"][0]["logprobs"] is None
    stream = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=2, stream=True)
    async for chunk in stream:
        assert all(choice.logprobs is None for choice in chunk.choices)
    completion = await client.completions.create(model="tiny", prompt="hello there", max_tokens=2)
    assert completion.choices[0].logprobs is None


async def test_top_logprobs_without_logprobs_is_a_400(http: httpx.AsyncClient) -> None:
    for body in ({"top_logprobs": 2}, {"top_logprobs": 2, "logprobs": False}):
        answer = await http.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO, **body})
        assert answer.status_code == 400
        assert "top_logprobs needs logprobs: true" in answer.json()["error"]["message"]


async def test_completions_use_the_legacy_shape(client: openai.AsyncOpenAI) -> None:
    reply = await client.completions.create(model="tiny", prompt="hello there", max_tokens=3, seed=0, logprobs=2)
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.tokens == WORDS[:3]
    assert logprobs.token_logprobs == pytest.approx([-0.1, -0.2, -0.3])
    assert logprobs.text_offset == [0, 5, 11]
    assert logprobs.top_logprobs is not None
    assert logprobs.top_logprobs[0] == pytest.approx({"hello": -0.1, "alt1": -1.1})
    assert reply.choices[0].text == "".join(WORDS[:3])


async def test_streamed_completions_offset_into_the_whole_text(client: openai.AsyncOpenAI) -> None:
    stream = await client.completions.create(
        model="tiny", prompt="hello there", max_tokens=3, seed=0, logprobs=0, stream=True
    )
    offsets, tokens = [], []
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.text:
                assert choice.logprobs is not None and choice.logprobs.text_offset is not None
                offsets.extend(choice.logprobs.text_offset)
                tokens.extend(choice.logprobs.tokens or [])
    assert tokens == WORDS[:3] and offsets == [0, 5, 11]


async def test_real_engine_logprobs_reach_the_wire_unchanged(
    tiny_client: openai.AsyncOpenAI, tiny_models: ModelRegistry
) -> None:
    reply = await tiny_client.chat.completions.create(
        model="tiny", messages=HELLO, max_tokens=6, temperature=0, logprobs=True, top_logprobs=4
    )
    content = reply.choices[0].logprobs.content  # type: ignore[union-attr]
    engine = tiny_models.get("tiny").engine
    request = GenerationRequest.from_prompt("hello there", temperature=0.0, max_tokens=6, logprobs=4)
    expected = engine.generate(request).logprobs  # alone, off the scheduler the server used
    assert content is not None and len(content) == len(expected) > 0
    for entry, record in zip(content, expected, strict=True):
        assert entry.token == record.token and math.isclose(entry.logprob, record.logprob, abs_tol=1e-3)
        assert [top.token for top in entry.top_logprobs] == [top.token for top in record.top]


async def test_json_mode_streams_finite_logprobs_for_every_token(tiny_client: openai.AsyncOpenAI) -> None:
    stream = await tiny_client.chat.completions.create(
        model="tiny",
        messages=HELLO,
        max_tokens=6,
        temperature=0,
        logprobs=True,
        top_logprobs=5,
        response_format={"type": "json_object"},
        stream=True,
    )
    text, entries = "", []
    async for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            if choice.logprobs is not None and choice.logprobs.content is not None:
                entries.extend(choice.logprobs.content)
    assert text.startswith("{") and entries
    assert all(math.isfinite(top.logprob) for entry in entries for top in entry.top_logprobs)
    assert bytes(b for entry in entries for b in entry.bytes or []).decode() == text
