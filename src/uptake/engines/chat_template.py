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

from uptake.engines.base import ChatMessage
from uptake.errors import EngineError

# Used only when a model ships no template. ChatML is what the Qwen family uses.
FALLBACK_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


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
) -> str:
    """The prompt text for `messages`, exactly as the model's template lays it out."""
    source = template or FALLBACK_TEMPLATE
    try:
        compiled = _ENV.from_string(source)
        return compiled.render(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            add_generation_prompt=add_generation_prompt,
            bos_token=bos_token,
            eos_token=eos_token,
            tools=None,
        )
    except TemplateError:
        raise
    except jinja2.exceptions.SecurityError as error:
        raise TemplateError(f"chat template tried an unsafe operation and was stopped: {error}") from error
    except jinja2.TemplateError as error:
        raise TemplateError(f"chat template could not be rendered: {error}") from error
