"""A row's conversation: the task's system prompt and few-shot examples for its language, then the row.

Every row of one language starts with the same system prompt and examples, so the engine computes that
prefix once and reuses it (its prefix cache); only the row's own message is new work. Templates render
in Jinja's sandbox with strict undefined variables, as chat templates do.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from uptake.apply.data import InputRow
from uptake.apply.spec import Task
from uptake.engines.base import ChatMessage, GenerationRequest

_ENVIRONMENT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@lru_cache(maxsize=64)
def _template(text: str) -> Template:
    return _ENVIRONMENT.from_string(text)


def render_user(task: Task, language: str, values: dict[str, Any]) -> str:
    template = task.text_for(task.spec.prompt.user, language)
    assert template is not None  # `user` is required
    return _template(template).render(**values)


def output_text(output: dict[str, Any]) -> str:
    """An answer as the model is shown it in the examples: compact JSON, in the schema's field order."""
    return json.dumps(output, ensure_ascii=False)


def messages_for(task: Task, row: InputRow) -> tuple[ChatMessage, ...]:
    messages: list[ChatMessage] = []
    for example in task.examples_for(row.language):
        messages.append(ChatMessage(role="user", content=render_user(task, row.language, example.input)))
        messages.append(ChatMessage(role="assistant", content=output_text(example.output)))
    messages.append(ChatMessage(role="user", content=render_user(task, row.language, row.values)))
    return tuple(messages)


def request_for(task: Task, row: InputRow, *, logprobs: bool, constrained: bool = True) -> GenerationRequest:
    """The generation for one row: greedy (or the task's temperature, seeded), the schema as a grammar."""
    sampling = task.spec.sampling
    return GenerationRequest(
        messages=messages_for(task, row),
        system=task.text_for(task.spec.prompt.system, row.language),
        temperature=sampling.temperature,
        seed=sampling.seed,
        max_tokens=task.spec.output.max_tokens,
        json_schema=task.schema if constrained else None,
        logprobs=0 if logprobs else None,
    )
