"""Run requests against any OpenAI-compatible server (`uptake serve`, llama-server, vLLM …) over HTTP.

At most `concurrency` requests are in flight; a request that fails for a reason that may pass (a refused
connection, a timeout, 429 or a 5xx answer) is tried again after a growing pause, up to `retries` times.
The output schema goes as `response_format: json_schema`; a server that ignores it may answer with text
the schema rejects, which the runner counts as invalid rather than dropping.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx

from uptake.engines.base import GenerationRequest
from uptake.errors import UsageError
from uptake.executors.base import Completion, TokenProbability

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def api_base(endpoint: str) -> str:
    """The API's base URL: the endpoint as given when it ends in /v1, else with /v1 added."""
    if not endpoint.startswith(("http://", "https://")):
        raise UsageError(f"--endpoint {endpoint} is not an http(s) URL; give e.g. http://127.0.0.1:8080.")
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1") else f"{base}/v1"


class HttpExecutor:
    def __init__(
        self, endpoint: str, model: str, *, api_key: str | None = None, concurrency: int = 4, retries: int = 4,
        timeout_s: float = 600.0, backoff_s: float = 1.0, transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = api_base(endpoint)
        self.model = model
        self._concurrency = concurrency
        self.retries = retries
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport
        )
        self.retried = 0

    @property
    def concurrency(self) -> int:
        return self._concurrency

    def describe(self) -> dict[str, Any]:
        return {"kind": "http", "endpoint": self.base_url, "model": self.model, "concurrency": self._concurrency}

    def counters(self) -> dict[str, int]:
        return {"retried": self.retried}

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": message.role, "content": message.content} for message in request.all_messages()],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.json_schema is not None:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "output", "schema": request.json_schema, "strict": True}}
        if request.logprobs is not None:
            body["logprobs"] = True
            body["top_logprobs"] = request.logprobs
        return body

    async def complete(self, request: GenerationRequest) -> Completion:
        started = time.perf_counter()
        body = self.body(request)
        problem = "no attempt was made"
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1) * (0.5 + random.random()))
            try:
                answer = await self._client.post("/chat/completions", json=body)
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
                continue
            if answer.status_code in RETRY_STATUSES:
                problem = f"HTTP {answer.status_code}: {answer.text[:200]}"
                continue
            if answer.status_code != 200:
                return Completion("", "error", error=f"HTTP {answer.status_code}: {answer.text[:300]}",
                                  seconds=time.perf_counter() - started)
            return self._parse(answer, started)
        return Completion("", "error", error=f"gave up after {self.retries + 1} attempts ({problem})",
                          seconds=time.perf_counter() - started)

    def _parse(self, answer: httpx.Response, started: float) -> Completion:
        try:
            data = answer.json()
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            usage = data.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
            return Completion("", "error", error=f"not an OpenAI chat completion ({error!r})",
                              seconds=time.perf_counter() - started)
        tokens = tuple(_token(item) for item in ((choice.get("logprobs") or {}).get("content") or ()))
        return Completion(text, str(choice.get("finish_reason") or "stop"), int(usage.get("prompt_tokens") or 0),
                          int(usage.get("completion_tokens") or 0), tokens, None, time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._client.aclose()


def _token(item: dict[str, Any]) -> TokenProbability:
    raw = item.get("bytes")
    data = bytes(raw) if isinstance(raw, list) else str(item.get("token", "")).encode("utf-8")
    return TokenProbability(data, float(item.get("logprob", 0.0)))
