"""Tool calling on the wire: OpenAI's tools, tool calls and tool turns in engine terms, and the model's calls
back out, whole (`message.tool_calls`) or streamed (`delta.tool_calls`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from uptake.engines.base import ChatMessage, TextDelta, TokenLogprob, ToolCall, ToolSpec
from uptake.engines.tool_calls import ParsedOutput, parse_tool_calls, streamable_length
from uptake.serve.openai_schema import (
    ChatMessageIn,
    ChatMessageOut,
    FunctionCallDelta,
    FunctionCallOut,
    FunctionDefinition,
    ToolCallDelta,
    ToolCallOut,
)


def engine_message(message: ChatMessageIn) -> ChatMessage:
    """'developer' is OpenAI's new name for the system role."""
    calls = tuple(
        ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
        for call in message.tool_calls or []
    )
    return ChatMessage(
        role="system" if message.role == "developer" else message.role,
        content=message.text(),
        tool_calls=calls,
        tool_call_id=message.tool_call_id,
        name=message.name,
    )


def tool_specs(functions: list[FunctionDefinition]) -> tuple[ToolSpec, ...]:
    return tuple(ToolSpec(name=f.name, description=f.description, parameters=f.parameters) for f in functions)


def tool_calls_out(calls: tuple[ToolCall, ...]) -> list[ToolCallOut]:
    return [ToolCallOut(id=c.id, function=FunctionCallOut(name=c.name, arguments=c.arguments)) for c in calls]


def message_out(parsed: ParsedOutput) -> ChatMessageOut:
    if not parsed.calls:
        return ChatMessageOut(content=parsed.content)
    return ChatMessageOut(content=parsed.content or None, tool_calls=tool_calls_out(parsed.calls))


def call_deltas(calls: tuple[ToolCall, ...]) -> list[ToolCallDelta]:
    """Each call as two pieces, as OpenAI streams them: its id, type and name, then its arguments."""
    deltas = []
    for index, call in enumerate(calls):
        opening = FunctionCallDelta(name=call.name, arguments="")
        deltas.append(ToolCallDelta(index=index, id=call.id, type="function", function=opening))
        deltas.append(ToolCallDelta(index=index, function=FunctionCallDelta(arguments=call.arguments)))
    return deltas


@dataclass
class StreamedChoice:
    """One streamed choice of a request that offers tools: text that may turn out to be a call is held back
    until the end, when it goes out as content or as calls."""

    tools: tuple[ToolSpec, ...]
    parallel: bool
    text: str = ""
    sent: int = 0
    pending: list[TokenLogprob] = field(default_factory=list)  # of tokens whose text is held back

    def content(self, delta: TextDelta) -> tuple[str, list[TokenLogprob]]:
        """The content that can go out now, and the log-probabilities of its tokens."""
        self.text += delta.text
        self.pending.extend(delta.logprobs)
        ready = streamable_length(self.text) if self.tools else len(self.text)
        return self._release(ready)

    def finish(self) -> tuple[str, list[TokenLogprob], tuple[ToolCall, ...]]:
        """The held-back content, and the calls the whole output makes (none: it was all content)."""
        if self.tools:
            parsed = parse_tool_calls(self.text, self.tools, parallel=self.parallel)
            if parsed.calls:
                return "", [], parsed.calls
        text, logprobs = self._release(len(self.text))
        return text, logprobs, ()

    def _release(self, ready: int) -> tuple[str, list[TokenLogprob]]:
        if ready <= self.sent:
            return "", []
        text = self.text[self.sent : ready]
        self.sent = ready
        # A token's log-probability goes out once all the text so far has (a held token's text may be cut).
        if ready < len(self.text):
            return text, []
        logprobs, self.pending = self.pending, []
        return text, logprobs
