"""Tool calling on the wire, read by the official openai client: the scripted engine writes what a model
would, and the server must turn it into calls (whole and streamed), or leave it as content."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from serve_support import registry_of

from uptake.engines.mock import MockEngine
from uptake.engines.tool_calls import forced_call_schema
from uptake.serve.openai_schema import FunctionDefinition
from uptake.serve.registry import ModelRegistry
from uptake.serve.tools import tool_specs

pytestmark = pytest.mark.anyio

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME: Any = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
TOOLS = [WEATHER, TIME]
PARIS_CALL = {"name": "get_weather", "arguments": '{"city":"Paris"}'}
ASK: Any = [{"role": "user", "content": "What is the weather in Paris?"}]


def block(name: str, arguments: object) -> str:
    return f'<tool_call>\n{{"name": "{name}", "arguments": {json.dumps(arguments)}}}\n</tool_call>'


@pytest.fixture(scope="module")
def engine() -> MockEngine:
    return MockEngine(context_size=4096)


@pytest.fixture(scope="module")
def models(engine: MockEngine) -> Iterator[ModelRegistry]:
    served = registry_of(engine)
    yield served
    served.close()


async def test_a_call_comes_back_as_tool_calls(client: openai.AsyncOpenAI, engine: MockEngine) -> None:
    engine.enqueue(block("get_weather", {"city": "Paris"}))
    reply = await client.chat.completions.create(model="tiny", messages=ASK, tools=TOOLS)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    offered = engine.requests[-1]
    assert [tool.name for tool in offered.tools] == ["get_weather", "get_time"] and offered.json_schema is None


async def test_text_around_calls_and_several_calls(client: openai.AsyncOpenAI, engine: MockEngine) -> None:
    engine.enqueue("Checking both.\n" + block("get_weather", {"city": "Oslo"}) + "\n" + block("get_time", {}))
    reply = await client.chat.completions.create(model="tiny", messages=ASK, tools=TOOLS)
    message = reply.choices[0].message
    assert message.content == "Checking both."
    assert [call.function.name for call in message.tool_calls or []] == ["get_weather", "get_time"]


async def test_parallel_tool_calls_false_keeps_one_call(client: openai.AsyncOpenAI, engine: MockEngine) -> None:
    engine.enqueue(block("get_weather", {"city": "Oslo"}) + block("get_time", {}))
    reply = await client.chat.completions.create(model="tiny", messages=ASK, tools=TOOLS, parallel_tool_calls=False)
    assert [call.function.name for call in reply.choices[0].message.tool_calls or []] == ["get_weather"]


@pytest.mark.parametrize(
    "output", [block("launch_rockets", {}), '<tool_call>{"name": "get_weather", "arguments": {"ci</tool_call>']
)
async def test_unknown_functions_and_broken_calls_come_back_as_content(
    client: openai.AsyncOpenAI, engine: MockEngine, output: str
) -> None:
    engine.enqueue(output)
    reply = await client.chat.completions.create(model="tiny", messages=ASK, tools=TOOLS)
    choice = reply.choices[0]
    assert choice.finish_reason == "stop" and choice.message.content == output and choice.message.tool_calls is None


async def test_tool_choice_none_offers_no_tools_and_reads_no_calls(
    client: openai.AsyncOpenAI, engine: MockEngine
) -> None:
    engine.enqueue(block("get_weather", {"city": "Paris"}))
    reply = await client.chat.completions.create(model="tiny", messages=ASK, tools=TOOLS, tool_choice="none")
    assert reply.choices[0].message.tool_calls is None and reply.choices[0].finish_reason == "stop"
    assert engine.requests[-1].tools == ()


async def test_a_forced_call_is_constrained_by_the_schema_of_the_forced_tools(
    client: openai.AsyncOpenAI, engine: MockEngine
) -> None:
    engine.enqueue('{"name": "get_weather", "arguments": {"city": "Paris"}}')
    reply = await client.chat.completions.create(model="tiny", messages=ASK, tools=TOOLS, tool_choice="required")
    assert reply.choices[0].message.tool_calls is not None and reply.choices[0].finish_reason == "tool_calls"
    functions = [FunctionDefinition.model_validate(tool["function"]) for tool in TOOLS]
    assert engine.requests[-1].json_schema == forced_call_schema(tool_specs(functions))
    engine.enqueue('{"name": "get_time", "arguments": {}}')
    named: Any = {"type": "function", "function": {"name": "get_time"}}
    await client.chat.completions.create(model="tiny", messages=ASK, tools=TOOLS, tool_choice=named)
    assert engine.requests[-1].json_schema == forced_call_schema(tool_specs(functions[1:]))


@pytest.mark.parametrize(
    "fields",
    [
        {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}},
        {"tool_choice": "required"},
        {"tools": [WEATHER, WEATHER]},
        {"tools": TOOLS, "tool_choice": "required", "response_format": {"type": "json_object"}},
    ],
)
async def test_tool_settings_that_cannot_work_are_refused(http: httpx.AsyncClient, fields: dict[str, Any]) -> None:
    response = await http.post("/v1/chat/completions", json={"model": "tiny", "messages": ASK, **fields})
    assert response.status_code == 400, response.text


async def test_calls_and_results_in_the_history_reach_the_engine(
    client: openai.AsyncOpenAI, engine: MockEngine
) -> None:
    history: Any = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_9", "type": "function", "function": PARIS_CALL}],
        },
        {"role": "tool", "tool_call_id": "call_9", "content": '{"celsius": 21}'},
    ]
    engine.enqueue("It is 21 degrees in Paris.")
    reply = await client.chat.completions.create(model="tiny", messages=history, tools=TOOLS)
    assert reply.choices[0].message.content == "It is 21 degrees in Paris."
    _, assistant, tool = engine.requests[-1].messages
    assert assistant.tool_calls[0].name == "get_weather" and assistant.tool_calls[0].arguments == '{"city":"Paris"}'
    assert tool.role == "tool" and tool.tool_call_id == "call_9" and tool.content == '{"celsius": 21}'


async def test_streamed_calls_reassemble_with_the_clients_helpers(
    client: openai.AsyncOpenAI, engine: MockEngine
) -> None:
    engine.enqueue("Let me check.\n" + block("get_weather", {"city": "Paris"}) + "\n" + block("get_time", {}))
    async with client.chat.completions.stream(model="tiny", messages=ASK, tools=TOOLS) as stream:
        contents = [event.delta async for event in stream if event.type == "content.delta"]
        final = await stream.get_final_completion()
    assert "".join(contents) == "Let me check.\n" and all("<" not in piece for piece in contents)
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [(call.function.name, json.loads(call.function.arguments)) for call in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {}),
    ]
    assert all(call.id.startswith("call_") for call in calls)


async def test_streamed_text_that_only_looked_like_a_call_comes_back_as_content(
    client: openai.AsyncOpenAI, engine: MockEngine
) -> None:
    engine.enqueue("Answer: " + block("launch_rockets", {}))
    stream = await client.chat.completions.create(model="tiny", messages=ASK, tools=TOOLS, stream=True)
    texts, reasons = [], []
    async for chunk in stream:
        for choice in chunk.choices:
            assert not choice.delta.tool_calls
            texts.append(choice.delta.content or "")
            reasons.append(choice.finish_reason)
    assert "".join(texts) == "Answer: " + block("launch_rockets", {}) and reasons[-1] == "stop"


async def test_a_streamed_call_in_a_code_fence_comes_out_as_a_call(
    client: openai.AsyncOpenAI, engine: MockEngine
) -> None:
    engine.enqueue('```json\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n```')
    async with client.chat.completions.stream(model="tiny", messages=ASK, tools=TOOLS) as stream:
        final = await stream.get_final_completion()
    assert not final.choices[0].message.content
    [call] = final.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Rome"}


async def test_a_forced_call_streams_as_tool_call_chunks(client: openai.AsyncOpenAI, engine: MockEngine) -> None:
    engine.enqueue('{"name": "get_time", "arguments": {}}')
    named: Any = {"type": "function", "function": {"name": "get_time"}}
    stream = await client.chat.completions.create(
        model="tiny", messages=ASK, tools=TOOLS, tool_choice=named, stream=True
    )
    pieces = [choice.delta.tool_calls async for chunk in stream for choice in chunk.choices if choice.delta.tool_calls]
    opening, arguments = (piece[0] for piece in pieces)
    assert opening.index == 0 and opening.id and opening.type == "function" and opening.function is not None
    assert opening.function.name == "get_time" and arguments.function is not None
    assert arguments.function.arguments == "{}" and arguments.id is None
