"""Tool calling on the real default model, through the official openai client: in-process, and against the
installed `uptake serve` in a subprocess."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from serve_support import BASE_URL, serve_process

from uptake.models.catalog import load_catalog
from uptake.models.pull import pull_model
from uptake.models.store import Store
from uptake.serve.app import create_app
from uptake.serve.registry import ModelRegistry, ModelSpec
from uptake.serve.runner import ServeOptions, load_served_model
from uptake.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
}
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": WEATHER_PARAMETERS,
    },
}
ASK: Any = [{"role": "user", "content": "What is the weather like in Paris right now?"}]
FORCED: Any = {"type": "function", "function": {"name": "get_weather"}}


@pytest.fixture(scope="module")
def model_path(real_model_home: Path) -> Path:
    model, _ = pull_model(Store(Settings(home=real_model_home)), load_catalog().default)
    return model.path


@pytest.fixture(scope="module")
def models(model_path: Path, real_model_home: Path) -> Iterator[ModelRegistry]:
    served = ModelRegistry()
    options = ServeOptions(parallel=2, context_per_sequence=2048, threads=2)
    served.add(
        load_served_model(ModelSpec(source=str(model_path), name="qwen"), options, Settings(home=real_model_home))
    )
    served.mark_ready()
    yield served
    served.close()


@pytest.fixture
async def client(models: ModelRegistry) -> AsyncIterator[openai.AsyncOpenAI]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(models)), base_url=BASE_URL) as http:
        yield openai.AsyncOpenAI(api_key="unused", base_url=f"{BASE_URL}/v1", http_client=http, max_retries=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_a_forced_call_has_arguments_valid_against_the_schema(client: openai.AsyncOpenAI, seed: int) -> None:
    reply = await client.chat.completions.create(
        model="qwen", messages=ASK, tools=[WEATHER], tool_choice=FORCED, temperature=1.0, seed=seed, max_tokens=96
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER_PARAMETERS)


async def test_an_auto_round_trip_calls_the_tool_then_answers_with_its_result(client: openai.AsyncOpenAI) -> None:
    first = await client.chat.completions.create(
        model="qwen", messages=ASK, tools=[WEATHER], temperature=0, seed=0, max_tokens=96
    )
    [call] = first.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather" and "Paris" in json.loads(call.function.arguments)["city"]
    history = [
        *ASK,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temperature": 17, "sky": "clear"})},
    ]
    final = await client.chat.completions.create(
        model="qwen", messages=history, tools=[WEATHER], temperature=0, seed=0, max_tokens=96
    )
    assert final.choices[0].finish_reason == "stop" and not final.choices[0].message.tool_calls
    assert "17" in (final.choices[0].message.content or "")


async def test_a_streamed_call_reassembles_with_the_clients_helpers(client: openai.AsyncOpenAI) -> None:
    async with client.chat.completions.stream(
        model="qwen", messages=ASK, tools=[WEATHER], temperature=0, seed=0, max_tokens=96
    ) as stream:
        final = await stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert final.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER_PARAMETERS)


@pytest.fixture(scope="module")
def server(model_path: Path) -> Iterator[str]:
    args = [str(model_path), "--parallel", "1", "--ctx", "2048", "--threads", "2"]
    with serve_process(args, ready_timeout_s=120) as base_url:
        yield base_url


def test_the_installed_server_forces_a_valid_call(server: str) -> None:
    client = openai.OpenAI(api_key="unused", base_url=f"{server}/v1", max_retries=0)
    model = client.models.list().data[0].id
    reply = client.chat.completions.create(
        model=model, messages=ASK, tools=[WEATHER], tool_choice="required", temperature=0.7, seed=3, max_tokens=96
    )
    [call] = reply.choices[0].message.tool_calls or []
    jsonschema.validate(json.loads(call.function.arguments), WEATHER_PARAMETERS)
