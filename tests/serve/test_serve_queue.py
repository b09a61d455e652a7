"""A full queue answers 503 with Retry-After at once, and the queue drains when clients leave (on a
scripted engine with one sequence and room for one more to wait)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest
from serve_support import LiveServer, endless, long_body, mock_registry

from polling import wait_for, wait_for_async
from uptake.engines.base import Engine
from uptake.serve.app import create_app
from uptake.serve.registry import ModelRegistry

pytestmark = pytest.mark.anyio

LONG = 16_000


@pytest.fixture(scope="module")
def one_slot() -> Iterator[ModelRegistry]:
    served = mock_registry(responder=endless, parallel=1, max_waiting=1, context_size=LONG + 64, step_s=0.005)
    yield served
    served.close()


async def test_a_full_queue_answers_503_with_retry_after(one_slot: ModelRegistry) -> None:
    engine = one_slot.get("tiny").engine
    with LiveServer(create_app(one_slot)) as base_url:
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=60) as http,
            http.stream("POST", "/v1/chat/completions", json=long_body(LONG, stream=True)) as busy,
        ):
            assert busy.status_code == 200
            # The answer's headers may leave before the engine admits the sequence; until it does, the busy
            # request itself is the one waiting, and a request sent then would find the queue free.
            await wait_for_async(lambda: occupancy(engine) == (1, 0), what="the first request to run")
            waiting = asyncio.create_task(http.post("/v1/chat/completions", json=long_body(LONG)))
            await wait_for_async(lambda: occupancy(engine) == (1, 1), what="a second request to queue")
            refused = await http.post("/v1/chat/completions", json=long_body(4))
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["error"]["code"] == "queue_full"
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
    wait_for(lambda: occupancy(engine) == (0, 0), what="the queue to drain")


def occupancy(engine: Engine) -> tuple[int, int]:
    """(running, waiting) sequences, read together."""
    current = engine.stats()
    return current.active, current.waiting
