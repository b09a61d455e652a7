"""A full queue answers 503 with Retry-After at once, and the queue drains when clients leave."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serve_support import LiveServer, forced_long_body, tiny_registry, wait_for, wait_for_async

from uptake.engines.batch_scheduler import BatchScheduler
from uptake.serve.app import create_app
from uptake.serve.registry import ModelRegistry

pytestmark = pytest.mark.anyio

LONG = 16_000


@pytest.fixture(scope="module")
def one_slot(tiny_gguf: Path) -> Iterator[ModelRegistry]:
    served = tiny_registry(tiny_gguf, parallel=1, max_waiting=1, context_per_sequence=LONG + 64)
    yield served
    served.close()


async def test_a_full_queue_answers_503_with_retry_after(one_slot: ModelRegistry) -> None:
    scheduler = one_slot.get("tiny").scheduler
    with LiveServer(create_app(one_slot)) as base_url:
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=60) as http,
            http.stream("POST", "/v1/chat/completions", json=forced_long_body(LONG, stream=True)) as busy,
        ):
            assert busy.status_code == 200
            # The answer's headers may leave before the scheduler admits the sequence; until it does, the busy
            # request itself is the one waiting, and a request sent then would find the queue free.
            await wait_for_async(lambda: occupancy(scheduler) == (1, 0), what="the first request to run")
            waiting = asyncio.create_task(http.post("/v1/chat/completions", json=forced_long_body(LONG)))
            await wait_for_async(lambda: occupancy(scheduler) == (1, 1), what="a second request to queue")
            refused = await http.post("/v1/chat/completions", json=forced_long_body(4))
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["error"]["code"] == "queue_full"
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
    wait_for(lambda: occupancy(scheduler) == (0, 0), what="the queue to drain")


def occupancy(scheduler: BatchScheduler) -> tuple[int, int]:
    """(running, waiting) sequences, read together."""
    current = scheduler.stats()
    return current.active, current.waiting
