"""The app around served models, and the official openai client talking to it in-process.

`models`, `app`, `http`, `client`: a scripted MockEngine served as "tiny" (alias "tiny-alias").
`tiny_models`, `tiny_http`, `tiny_client`: the tiny GGUF on the real llama.cpp engine, for batching and
end-to-end tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import openai
import pytest
from fastapi import FastAPI
from serve_support import BASE_URL, mock_registry, tiny_registry

from uptake.serve.app import create_app
from uptake.serve.registry import ModelRegistry


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def models() -> Iterator[ModelRegistry]:
    served = mock_registry()
    yield served
    served.close()


@pytest.fixture
def app(models: ModelRegistry) -> FastAPI:
    return create_app(models)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="unused", base_url=f"{BASE_URL}/v1", http_client=http, max_retries=0)


@pytest.fixture(scope="module")
def tiny_models(tiny_gguf: Path) -> Iterator[ModelRegistry]:
    served = tiny_registry(tiny_gguf)
    yield served
    served.close()


@pytest.fixture
async def tiny_http(tiny_models: ModelRegistry) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(tiny_models))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def tiny_client(tiny_http: httpx.AsyncClient) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="unused", base_url=f"{BASE_URL}/v1", http_client=tiny_http, max_retries=0)
