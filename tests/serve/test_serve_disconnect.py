"""A client that hangs up frees its sequence at once, streaming or not (real sockets, loopback), on a
scripted engine whose sequences run until their limit unless cancelled."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from serve_support import LiveServer, endless, long_body, mock_registry

from polling import wait_for_async
from uptake.serve.app import create_app
from uptake.serve.registry import ModelRegistry

pytestmark = pytest.mark.anyio

LONG = 16_000
BODY = long_body(LONG)


@pytest.fixture(scope="module")
def long_models() -> Iterator[ModelRegistry]:
    served = mock_registry(responder=endless, parallel=2, context_size=LONG + 64, step_s=0.005)
    yield served
    served.close()


def stats(models: ModelRegistry) -> tuple[int, int]:
    current = models.get("tiny").engine.stats()
    return current.active, current.cancelled


async def test_hanging_up_a_stream_cancels_its_sequence(long_models: ModelRegistry) -> None:
    with LiveServer(create_app(long_models)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            _, cancelled_before = stats(long_models)
            async with http.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}) as answer:
                assert answer.status_code == 200
                async for line in answer.aiter_lines():
                    if line.startswith("data: "):
                        break
                # The first chunk may leave before the engine admits the sequence: wait for it to run.
                await wait_for_async(lambda: stats(long_models)[0] == 1, what="the sequence to start")
            await wait_for_async(
                lambda: stats(long_models) == (0, cancelled_before + 1), what="the sequence to be cancelled"
            )


async def test_hanging_up_while_waiting_for_a_whole_answer_cancels_it(long_models: ModelRegistry) -> None:
    with LiveServer(create_app(long_models)) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            _, cancelled_before = stats(long_models)
            with pytest.raises(httpx.TimeoutException):
                await http.post("/v1/chat/completions", json=BODY, timeout=0.3)
            await wait_for_async(
                lambda: stats(long_models) == (0, cancelled_before + 1), what="the sequence to be cancelled"
            )
