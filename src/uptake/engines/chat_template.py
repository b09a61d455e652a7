"""Render a conversation with the model's own chat template, in a Jinja sandbox.

This is the one rendering function every engine uses. Templates come from model files, which we do
not trust: the immutable sandbox blocks attribute tricks and mutation, and only a few harmless helpers
are exposed to the template.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from uptake.engines.base import ChatMessage, ToolCall, ToolSpec
from uptake.errors import EngineError

# Used only when a model ships no template. ChatML is what the Qwen family uses.
FALLBACK_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


# Templates without a tools section get the tools in a system message instead, in the format Qwen2.5 and
# Hermes-style models are trained on, which engines/tool_calls.py parses; tool calls and results in the
# history are written as the same tags, since such templates know nothing of them.
FALLBACK_TOOLS_PROMPT = (
    "You may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{tools}\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>'
)


def _call_text(call: ToolCall) -> str:
    return f'<tool_call>\n{{"name": {json.dumps(call.name)}, "arguments": {call.arguments}}}\n</tool_call>'


def _arguments(call: ToolCall) -> Any:
    # Templates write `arguments | tojson`, as Hugging Face passes a mapping; text that is not JSON goes as is.
    try:
        return json.loads(call.arguments)
    except ValueError:
        return call.arguments


def _template_message(message: ChatMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        entry["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": _arguments(call)}}
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        entry["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        entry["name"] = message.name
    return entry


def _fallback_message(message: ChatMessage) -> dict[str, Any]:
    if message.tool_calls:
        parts = [message.content] if message.content else []
        return {"role": "assistant", "content": "\n".join([*parts, *map(_call_text, message.tool_calls)])}
    if message.role == "tool":
        return {"role": "user", "content": f"<tool_response>\n{message.content}\n</tool_response>"}
    return {"role": message.role, "content": message.content}


def has_tools_section(template: str | None) -> bool:
    # Hugging Face templates read the tools from a variable named `tools`; one that never names it cannot
    # show them (a template that only mentions the word is misread, and its model gets no tools at all).
    return template is not None and "tools" in template


def template_inputs(
    template: str | None, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The `messages` and `tools` a template reads: as Hugging Face passes them when the template has a
    tools section, else with the fallback prompt and tags written into the messages themselves."""
    if has_tools_section(template):
        return [_template_message(m) for m in messages], [tool.template_entry() for tool in tools] or None
    rendered = [_fallback_message(m) for m in messages]
    if tools:
        listing = "\n".join(json.dumps(tool.template_entry(), ensure_ascii=False) for tool in tools)
        prompt = FALLBACK_TOOLS_PROMPT.format(tools=listing)
        if rendered and rendered[0]["role"] == "system":
            rendered[0] = {"role": "system", "content": rendered[0]["content"] + "\n\n" + prompt}
        else:
            rendered.insert(0, {"role": "system", "content": prompt})
    return rendered, None


class TemplateError(EngineError):
    pass


def _raise_exception(message: str) -> None:
    raise TemplateError(f"chat template refused the conversation: {message}")


def _tojson(value: Any, indent: int | None = None, ensure_ascii: bool = False) -> str:
    # Templates expect tojson to keep non-ASCII text readable, as Hugging Face's renderer does.
    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[loopcontrols],
        undefined=jinja2.Undefined,
        autoescape=False,
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


_ENV = _environment()


def render_chat(
    template: str | None,
    messages: Sequence[ChatMessage],
    *,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    tools: Sequence[ToolSpec] = (),
) -> str:
    """The prompt text for `messages`, exactly as the model's template lays it out, with the functions in
    `tools` offered to the model (see `template_inputs`)."""
    source = template or FALLBACK_TEMPLATE
    rendered_messages, rendered_tools = template_inputs(template, messages, tools)
    try:
        compiled = _ENV.from_string(source)
        return compiled.render(
            messages=rendered_messages,
            add_generation_prompt=add_generation_prompt,
            bos_token=bos_token,
            eos_token=eos_token,
            tools=rendered_tools,
        )
    except TemplateError:
        raise
    except jinja2.exceptions.SecurityError as error:
        raise TemplateError(f"chat template tried an unsafe operation and was stopped: {error}") from error
    except jinja2.TemplateError as error:
        raise TemplateError(f"chat template could not be rendered: {error}") from error
