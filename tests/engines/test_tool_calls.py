"""Tool calls read from a model's output, and the schema that forces one."""

from __future__ import annotations

import json

import jsonschema
import pytest

from uptake.engines.base import ToolSpec
from uptake.engines.llamacpp.grammar import grammar_for_schema
from uptake.engines.tool_calls import forced_call_schema, parse_tool_calls, streamable_length

WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = ToolSpec(name="get_time", parameters={"type": "object", "properties": {"zone": {"type": "string"}}})
TOOLS = (WEATHER, TIME)


def block(name: str, arguments: object) -> str:
    return f'<tool_call>\n{{"name": "{name}", "arguments": {json.dumps(arguments)}}}\n</tool_call>'


def test_a_tagged_block_is_a_call_and_the_text_around_it_content() -> None:
    parsed = parse_tool_calls("Let me look.\n" + block("get_weather", {"city": "Paris"}), TOOLS)
    assert parsed.content == "Let me look."
    [call] = parsed.calls
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert call.id.startswith("call_") and len(call.id) > 10


def test_several_blocks_are_several_calls_unless_parallel_calls_are_off() -> None:
    text = block("get_weather", {"city": "Oslo"}) + "\n" + block("get_time", {"zone": "CET"})
    assert [call.name for call in parse_tool_calls(text, TOOLS).calls] == ["get_weather", "get_time"]
    assert [call.name for call in parse_tool_calls(text, TOOLS, parallel=False).calls] == ["get_weather"]
    first, second = parse_tool_calls(text, TOOLS).calls
    assert first.id != second.id


def test_a_block_cut_before_its_closing_tag_still_counts() -> None:
    parsed = parse_tool_calls('<tool_call>\n{"name": "get_time", "arguments": {}}', TOOLS)
    assert [call.name for call in parsed.calls] == ["get_time"]


@pytest.mark.parametrize(
    "text",
    [
        block("launch_rockets", {"count": 3}),  # a function nobody offered
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": \n</tool_call>',  # cut JSON
        '<tool_call>\n["get_weather"]\n</tool_call>',  # not an object
        '<tool_call>{"name": "get_weather", "arguments": 7}</tool_call>',  # arguments not an object
        block("get_weather", {"city": "Rome"}) + block("nope", {}),  # one bad call spoils them all
        '{"answer": 42}',  # bare JSON that is no call
        "Just text, no calls.",
    ],
)
def test_what_is_not_a_valid_call_stays_content(text: str) -> None:
    parsed = parse_tool_calls(text, TOOLS)
    assert parsed.calls == () and parsed.content == text


def test_a_bare_call_object_is_a_call_as_a_forced_call_is_written() -> None:
    [call] = parse_tool_calls(' {"name": "get_weather", "arguments": {"city": "Lima"}}', TOOLS).calls
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Lima"}


@pytest.mark.parametrize("fence", ["```json\n", "```\n", "  ```json "])
def test_a_call_object_alone_in_a_code_fence_is_a_call(fence: str) -> None:
    [call] = parse_tool_calls(fence + '{"name": "get_time", "arguments": {"zone": "UTC"}}\n```\n', TOOLS).calls
    assert call.name == "get_time" and json.loads(call.arguments) == {"zone": "UTC"}
    text = 'Here:\n```json\n{"name": "get_time", "arguments": {}}\n```'
    assert parse_tool_calls(text, TOOLS).calls == ()  # not the whole answer


def test_arguments_written_as_json_text_are_read_as_an_object() -> None:
    text = '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Kyiv\\"}"}</tool_call>'
    [call] = parse_tool_calls(text, TOOLS).calls
    assert json.loads(call.arguments) == {"city": "Kyiv"}


@pytest.mark.parametrize(
    ("text", "streamable"),
    [
        ("Hello there", 11),
        ("Hello <tool", 6),  # might be the start of a tag
        ("Hello <tool_call>\n{", 6),
        ("a < b", 5),
        ("  {", 0),  # might be a bare call
        ("``", 0),  # might open a fenced one
        ("```python\nx = 1", 0),
        ("`x` is", 6),
        ("", 0),
    ],
)
def test_only_text_that_cannot_become_a_call_is_streamable(text: str, streamable: int) -> None:
    assert streamable_length(text) == streamable


def test_the_forced_schema_admits_a_valid_call_of_each_tool_and_nothing_else() -> None:
    schema = forced_call_schema(TOOLS)
    jsonschema.validate({"name": "get_weather", "arguments": {"city": "Paris"}}, schema)
    jsonschema.validate({"name": "get_time", "arguments": {}}, schema)
    for wrong in ({"name": "get_weather", "arguments": {}}, {"name": "other", "arguments": {}}, {"name": "get_time"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)
    assert "get_weather" in grammar_for_schema(schema)


def test_one_forced_tool_needs_no_alternatives() -> None:
    assert forced_call_schema((WEATHER,))["properties"]["name"] == {"const": "get_weather"}
