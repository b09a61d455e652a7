"""N simultaneous streams finish with exactly the text each produces alone (temperature 0), on the real
llama.cpp engine's continuous batching."""

from __future__ import annotations

import asyncio

import openai
import pytest
from serve_support import PARALLEL

from uptake.engines.base import GenerationRequest
from uptake.serve.registry import ModelRegistry

pytestmark = pytest.mark.anyio

STREAMS = 2 * PARALLEL + 1  # more than the sequences, so some wait in the queue and join mid-flight


def prompt(index: int) -> str:
    return f"stream {index}: " + "tell me more " * (index % 4)


async def stream_text(client: openai.AsyncOpenAI, index: int, max_tokens: int) -> str:
    stream = await client.chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": prompt(index)}],
        temperature=0,
        max_tokens=max_tokens,
        stream=True,
    )
    return "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])


async def test_simultaneous_streams_equal_their_solo_runs(
    tiny_client: openai.AsyncOpenAI, tiny_models: ModelRegistry
) -> None:
    lengths = [8 + 5 * (index % 3) for index in range(STREAMS)]  # staggered ends: sequences leave and join
    alone = [await stream_text(tiny_client, index, lengths[index]) for index in range(STREAMS)]
    together = await asyncio.gather(*(stream_text(tiny_client, index, lengths[index]) for index in range(STREAMS)))
    assert list(together) == alone
    assert len(set(alone)) > 1
    engine = tiny_models.get("tiny").engine
    solo_engine = [
        engine.generate(GenerationRequest.from_prompt(prompt(index), temperature=0.0, max_tokens=lengths[index])).text
        for index in range(STREAMS)
    ]
    assert solo_engine == alone
    assert engine.stats().active == 0
