from __future__ import annotations

import pytest

from tiny_gguf import CHATML_TEMPLATE
from uptake.engines.base import ChatMessage, ToolCall, ToolSpec
from uptake.engines.chat_template import TemplateError, render_chat
from uptake.models.catalog import reference_template

CONVERSATION = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Hi")]


def test_chatml_renders_with_the_generation_prompt() -> None:
    text = render_chat(CHATML_TEMPLATE, CONVERSATION)
    assert text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert not render_chat(CHATML_TEMPLATE, CONVERSATION, add_generation_prompt=False).endswith("assistant\n")


def test_qwen_reference_template_keeps_the_system_prompt() -> None:
    text = render_chat(reference_template("qwen2.5"), CONVERSATION)
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>")
    default_system = render_chat(reference_template("qwen2.5"), CONVERSATION[1:])
    assert "You are Qwen" in default_system


def test_gemma_template_folds_the_system_prompt_into_the_first_turn() -> None:
    text = render_chat(reference_template("gemma3"), CONVERSATION, bos_token="<bos>")
    assert text == "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"


@pytest.mark.parametrize(
    "hostile",
    [
        "{{ messages.__class__.__mro__ }}",
        "{{ ''.__class__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{% set x = messages.append(1) %}{{ x }}",
    ],
)
def test_the_sandbox_stops_code_execution_routes(hostile: str) -> None:
    with pytest.raises(TemplateError):
        render_chat(hostile, CONVERSATION)


def test_raise_exception_in_a_template_is_a_clear_error() -> None:
    with pytest.raises(TemplateError, match="roles must alternate"):
        render_chat("{{ raise_exception('roles must alternate') }}", CONVERSATION)


def test_missing_template_falls_back_to_chatml() -> None:
    assert render_chat(None, CONVERSATION) == render_chat(CHATML_TEMPLATE, CONVERSATION)


WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ROUND_TRIP = [
    ChatMessage(role="user", content="Weather in Paris?"),
    ChatMessage(
        role="assistant",
        content="",
        tool_calls=(ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}'),),
    ),
    ChatMessage(role="tool", content='{"celsius": 21}', tool_call_id="call_1", name="get_weather"),
]


def test_a_template_with_a_tools_section_renders_tools_calls_and_results_itself() -> None:
    text = render_chat(reference_template("qwen2.5"), ROUND_TRIP, tools=[WEATHER])
    assert "# Tools" in text and '"name": "get_weather"' in text and '"description": "The weather in a city."' in text
    assert '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n' in text
    assert '<|im_start|>user\n<tool_response>\n{"celsius": 21}\n</tool_response><|im_end|>' in text
    assert "# Tools" not in render_chat(reference_template("qwen2.5"), ROUND_TRIP)


@pytest.mark.parametrize("template", [CHATML_TEMPLATE, reference_template("gemma3")])
def test_a_template_without_one_gets_the_fallback_prompt_and_tags_in_the_messages(template: str) -> None:
    text = render_chat(template, [ChatMessage(role="system", content="Be brief."), *ROUND_TRIP], tools=[WEATHER])
    assert "Be brief.\n\nYou may call one or more functions" in text
    assert '"name": "get_weather"' in text and "<tool_call></tool_call> XML tags" in text
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' in text
    assert "<tool_response>\n" + '{"celsius": 21}' in text
    assert "You may call" not in render_chat(template, ROUND_TRIP)
