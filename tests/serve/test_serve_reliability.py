"""A few hundred mixed requests against a real server socket, the bad and the rude among them, on a
scripted engine that takes a millisecond per token.

Afterwards the server must be healthy, hold no sequence, and answer a normal request.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from serve_support import CONTEXT, LiveServer, mock_registry

from uptake.serve.app import create_app
from uptake.serve.registry import ModelRegistry

pytestmark = pytest.mark.anyio

REQUESTS = 300
CONCURRENCY = 24
HELLO = [{"role": "user", "content": "hello"}]
ERROR_FIELDS = {"message", "type", "param", "code"}

Outcome = str
Action = Callable[[httpx.AsyncClient], Awaitable[Outcome]]


@pytest.fixture(scope="module")
def busy_models() -> Iterator[ModelRegistry]:
    served = mock_registry(parallel=4, max_waiting=8, step_s=0.001)  # a small queue, so some requests get 503s
    yield served
    served.close()


def expect(answer: httpx.Response, *statuses: int) -> Outcome:
    status = answer.status_code
    assert status in (*statuses, 503), f"{status}: {answer.text[:200]}"
    if status >= 400:
        assert set(answer.json()["error"]) == ERROR_FIELDS
        if status == 503:
            assert answer.headers["retry-after"]
            return "busy"
    return f"{status}"


async def chat(http: httpx.AsyncClient) -> Outcome:
    body = {"model": "tiny", "messages": HELLO, "max_tokens": random.randint(1, 12), "temperature": 0}
    return "chat " + expect(await http.post("/v1/chat/completions", json=body), 200)


async def chat_stream(http: httpx.AsyncClient) -> Outcome:
    body = {"model": "tiny-alias", "messages": HELLO, "max_tokens": 8, "stream": True, "seed": 1}
    async with http.stream("POST", "/v1/chat/completions", json=body) as answer:
        if answer.status_code != 200:
            await answer.aread()
            return "stream " + expect(answer, 200)
        lines = [line async for line in answer.aiter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    return "stream 200"


async def completion(http: httpx.AsyncClient) -> Outcome:
    body = {"model": "tiny", "prompt": ["a", "b"], "max_tokens": 3}
    return "completion " + expect(await http.post("/v1/completions", json=body), 200)


async def embedding(http: httpx.AsyncClient) -> Outcome:
    return "embedding " + expect(await http.post("/v1/embeddings", json={"model": "tiny", "input": "x"}), 200)


async def malformed_json(http: httpx.AsyncClient) -> Outcome:
    broken = random.choice([b"{", b"not json", b'{"model": "tiny", "messages": [}', b"\xff\xfe", b""])
    answer = await http.post("/v1/chat/completions", content=broken, headers={"content-type": "application/json"})
    return "malformed " + expect(answer, 400)


async def unknown_model(http: httpx.AsyncClient) -> Outcome:
    answer = await http.post("/v1/chat/completions", json={"model": "no-such-model", "messages": HELLO})
    return "unknown-model " + expect(answer, 404)


async def oversized_prompt(http: httpx.AsyncClient) -> Outcome:
    body = {"model": "tiny", "messages": [{"role": "user", "content": "word " * CONTEXT}]}
    answer = await http.post("/v1/chat/completions", json=body)
    assert answer.status_code != 400 or answer.json()["error"]["code"] == "context_length_exceeded"
    return "oversized " + expect(answer, 400)


async def bad_parameters(http: httpx.AsyncClient) -> Outcome:
    bad = random.choice(
        [
            {"temperature": 9},
            {"n": 0},
            {"max_tokens": -1},
            {"stop": list("abcdef")},
            {"top_p": 0},
            {"messages": "hello"},
            {"response_format": {"type": "json_schema"}},
            {"seed": "x"},
            {"logit_bias": {"1": 5}},
        ]
    )
    answer = await http.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO, **bad})
    return "bad-parameter " + expect(answer, 400)


async def vanishing_stream(http: httpx.AsyncClient) -> Outcome:
    body = {"model": "tiny", "messages": HELLO, "max_tokens": CONTEXT, "stream": True}
    async with http.stream("POST", "/v1/chat/completions", json=body) as answer:
        if answer.status_code != 200:
            await answer.aread()
            return "vanish-stream " + expect(answer, 200)
        async for _ in answer.aiter_lines():
            break  # read one line, then hang up
    return "vanish-stream gone"


async def vanishing_waiter(http: httpx.AsyncClient) -> Outcome:
    body = {"model": "tiny", "messages": HELLO, "max_tokens": CONTEXT}
    try:
        answer = await http.post("/v1/chat/completions", json=body, timeout=0.02)
    except httpx.TimeoutException:
        return "vanish-wait gone"
    return "vanish-wait " + expect(answer, 200)


ACTIONS: list[tuple[Action, int]] = [
    (chat, 6),
    (chat_stream, 5),
    (completion, 2),
    (embedding, 2),
    (malformed_json, 3),
    (unknown_model, 2),
    (oversized_prompt, 2),
    (bad_parameters, 4),
    (vanishing_stream, 3),
    (vanishing_waiter, 2),
]


async def metric(http: httpx.AsyncClient, name: str) -> float:
    text = (await http.get("/metrics")).text
    found = re.search(rf'^{name}{{model="tiny"}} (\S+)$', text, re.MULTILINE)
    assert found, name
    return float(found.group(1))


async def test_hundreds_of_mixed_requests_leave_the_server_healthy_and_empty(busy_models: ModelRegistry) -> None:
    random.seed(20240607)
    actions, weights = zip(*ACTIONS, strict=True)
    plan = random.choices(actions, weights=weights, k=REQUESTS)
    gate = asyncio.Semaphore(CONCURRENCY)
    with LiveServer(create_app(busy_models)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

            async def run(action: Action) -> Outcome:
                async with gate:
                    return await action(http)

            outcomes = Counter(await asyncio.gather(*(run(action) for action in plan)))
            print("\nreliability outcomes:", json.dumps(dict(sorted(outcomes.items()))))
            assert sum(outcomes.values()) == REQUESTS
            assert outcomes["chat 200"] > 0 and outcomes["stream 200"] > 0
            assert outcomes["vanish-stream gone"] > 0

            assert (await http.get("/health")).status_code == 200
            for name in ("uptake_active_sequences", "uptake_queue_depth"):
                for _ in range(500):  # the last hung-up sequences leave at the engine's next step
                    if await metric(http, name) == 0:
                        break
                    await asyncio.sleep(0.02)
                assert await metric(http, name) == 0, name
            final = await http.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO, "max_tokens": 4})
            assert final.status_code == 200
            assert final.json()["choices"][0]["message"]["role"] == "assistant"
            assert '",status="500"}' not in (await http.get("/metrics")).text
