"""Tool calls in a model's output, and the constraint that forces one; the same for every engine.

A model offered tools (through its template, or the fallback prompt in chat_template.py) answers a call
the way Qwen2.5 and Hermes-style models do: `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`,
one block per call. A forced call is constrained by a JSON schema (so by the one schema-to-grammar
translation) to the bare object `{"name": ..., "arguments": {...}}`, which is parsed as a call too, as is
an answer that is nothing but such an object in a Markdown code fence.

Output that names an unknown function, or whose block is not such an object, is no call at all: the
whole text stays content, so a request never fails on what the model wrote.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from uptake.engines.base import ToolCall, ToolSpec
from uptake.engines.stops import partial_match_length

OPEN_TAG = "<tool_call>"
CLOSE_TAG = "</tool_call>"
_BLOCK = re.compile(re.escape(OPEN_TAG) + r"(.*?)(?:" + re.escape(CLOSE_TAG) + r"|\Z)", re.DOTALL)
# Small models (Qwen2.5-Coder among them) often write the call object alone in a Markdown code fence.
_FENCE = re.compile(r"\A\s*```(?:json)?\s*(.*?)\s*```\s*\Z", re.DOTALL)
_FENCE_MARK = "```"


@dataclass(frozen=True)
class ParsedOutput:
    """What the model wrote: its text outside any call, and its calls (empty when there are none)."""

    content: str
    calls: tuple[ToolCall, ...]


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def forced_call_schema(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """A JSON schema admitting exactly a call of one of `tools` with arguments valid against its parameters."""
    alternatives = [
        {
            "type": "object",
            "properties": {"name": {"const": tool.name}, "arguments": tool.parameters},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for tool in tools
    ]
    return alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}


def _call(payload: str, known: set[str]) -> ToolCall | None:
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("name") not in known:
        return None
    arguments = value.get("arguments", {})
    if isinstance(arguments, str):  # some models write the arguments as JSON text
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    return ToolCall(id=new_call_id(), name=value["name"], arguments=json.dumps(arguments, ensure_ascii=False))


def parse_tool_calls(text: str, tools: Sequence[ToolSpec], *, parallel: bool = True) -> ParsedOutput:
    """The calls in `text` to functions of `tools`; with `parallel` false, only the first is kept."""
    known = {tool.name for tool in tools}
    blocks = list(_BLOCK.finditer(text))
    if blocks:
        calls = [_call(block.group(1).strip(), known) for block in blocks]
        content = _BLOCK.sub("", text).strip()
    else:
        fenced = _FENCE.match(text)
        bare = (fenced.group(1) if fenced else text).strip()
        calls = [_call(bare, known)] if bare.startswith("{") else []
        content = ""
    if not calls or None in calls:
        return ParsedOutput(text, ())
    found = tuple(call for call in calls if call is not None)
    return ParsedOutput(content, found if parallel else found[:1])


def streamable_length(text: str) -> int:
    """How much of `text` (the output so far) can be streamed as content, given that what follows may make
    it a call: text before any `<tool_call>` tag (and before what may be the start of one), and nothing of
    an answer that opens as a bare JSON object or a code fence (until it ends)."""
    opening = text.lstrip()
    if opening.startswith(("{", _FENCE_MARK)) or (opening and _FENCE_MARK.startswith(opening)):
        return 0
    start = text.find(OPEN_TAG)
    if start >= 0:
        return start
    return len(text) - partial_match_length(text, OPEN_TAG)
