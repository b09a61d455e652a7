"""`uptake run` and `uptake chat`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from uptake.cli.options import AdapterOption, ContextOption, SeedOption, SystemOption, TemperatureOption, ThreadsOption
from uptake.cli.output import console, err_console, print_json, resolve_with_progress
from uptake.engines.base import ChatMessage, Engine, Finish, GenerationRequest, TextDelta
from uptake.engines.loader import load_engine
from uptake.errors import UsageError
from uptake.models.resolve import ResolvedModel, is_known_model, with_adapter
from uptake.settings import get_settings


def open_engine(
    name: str, quiet: bool, context_size: int | None, threads: int | None
) -> tuple[ResolvedModel, Engine, float]:
    """Resolve (pulling a catalog model on first use, as `ollama run` does) and load; the load time too."""
    model = resolve_with_progress(name, quiet)
    started = time.perf_counter()
    engine = load_engine(model, context_size=context_size, threads=threads)
    return model, engine, time.perf_counter() - started


def read_schema(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        schema = json.loads(path.read_text("utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read the JSON schema file {path}: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not valid JSON (line {error.lineno}: {error.msg}).") from error
    if not isinstance(schema, dict):
        raise UsageError(f"{path} must hold a JSON object (a JSON schema).")
    return schema


def run(
    model_or_prompt: Annotated[str, typer.Argument(metavar="[MODEL] PROMPT", help="Model (optional) and prompt.")],
    prompt: Annotated[str | None, typer.Argument(metavar="", show_default=False)] = None,
    system: SystemOption = None,
    temperature: TemperatureOption = 0.7,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.95,
    max_tokens: Annotated[int, typer.Option(min=1)] = 512,
    seed: SeedOption = None,
    stop: Annotated[list[str] | None, typer.Option(help="Stop string (repeatable).")] = None,
    json_schema: Annotated[
        Path | None, typer.Option("--json-schema", help="Constrain output to this JSON schema file.")
    ] = None,
    ctx: ContextOption = None,
    threads: ThreadsOption = None,
    adapter: AdapterOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON result with usage and timings.")] = False,
) -> None:
    """Generate a reply to one prompt; streams to stdout. MODEL defaults to the default model."""
    if prompt is None:
        if is_known_model(model_or_prompt):
            if sys.stdin.isatty():
                raise UsageError("no prompt given; pass it after the model name or pipe it on stdin.")
            model, prompt = model_or_prompt, sys.stdin.read()
        else:
            model, prompt = get_settings().default_model, model_or_prompt
    else:
        model = model_or_prompt
    if not prompt.strip():
        raise UsageError("the prompt is empty; give some text to answer.")
    schema = read_schema(json_schema)
    request = GenerationRequest(
        messages=(ChatMessage(role="user", content=prompt),), system=system, temperature=temperature,
        top_p=top_p, max_tokens=max_tokens, seed=seed, stop=tuple(stop or ()), json_schema=schema,
    )
    resolved, engine, load_s = open_engine(with_adapter(model, adapter), json_output, ctx, threads)
    try:
        if json_output:
            print_json(_result_json(model, resolved, engine, request, load_s))
            return
        for event in engine.stream(request):
            if isinstance(event, TextDelta):
                sys.stdout.write(event.text)
                sys.stdout.flush()
        sys.stdout.write("\n")
    finally:
        engine.close()


def _result_json(
    model: str, resolved: ResolvedModel, engine: Engine, request: GenerationRequest, load_s: float
) -> dict[str, Any]:
    result = engine.generate(request)
    data: dict[str, Any] = {
        "model": model,
        "model_file": str(resolved.path),
        "adapter": None if resolved.adapter is None else {
            "name": resolved.adapter.name, "sha256": resolved.adapter.sha256, "file": str(resolved.adapter.path),
        },
        "text": result.text,
        "finish_reason": result.finish_reason,
        "usage": {
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "total_tokens": result.usage.total_tokens,
        },
        "timings": {
            "load_s": round(load_s, 4),
            "prompt_s": round(result.timings.prompt_s, 4),
            "decode_s": round(result.timings.decode_s, 4),
            "total_s": round(result.timings.total_s, 4),
        },
        "prompt_tokens_per_second": round(result.usage.prompt_tokens / result.timings.prompt_s, 2)
        if result.timings.prompt_s > 0 else None,
        "decode_tokens_per_second": round(result.decode_tokens_per_second, 2),
        "settings": request.model_dump(exclude={"messages"}) | {
            "context_size": engine.context_size, "threads": engine.info.threads,
        },
    }
    if request.json_schema is not None:
        data["json"] = _validated_json(result.text, request.json_schema)
    return data


def _validated_json(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    import jsonschema

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return {"valid": False, "error": f"not JSON: {error.msg}"}
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as error:
        return {"valid": False, "error": error.message, "value": value}
    return {"valid": True, "value": value}


def chat(
    model: Annotated[str, typer.Argument(help="Model (default: the default model).")] = "",
    system: SystemOption = None,
    temperature: TemperatureOption = 0.7,
    max_tokens: Annotated[int, typer.Option(min=1)] = 1024,
    seed: SeedOption = None,
    ctx: ContextOption = None,
    threads: ThreadsOption = None,
    adapter: AdapterOption = None,
) -> None:
    """Talk with a model. History is kept; /reset clears it, /exit (or Ctrl-D) leaves.

    Ctrl-C during a reply stops that reply and keeps the conversation; at the prompt it leaves (exit 0).
    """
    name = with_adapter(model or get_settings().default_model, adapter)
    _, engine, _ = open_engine(name, False, ctx, threads)
    history: list[ChatMessage] = []
    interactive = sys.stdin.isatty()
    if interactive:
        err_console.print(f"chatting with {name}; /reset clears the history, /exit leaves.")
    try:
        while True:
            try:
                line = input(">>> " if interactive else "")
            except EOFError:
                break
            text = line.strip()
            if not text:
                continue
            if text in ("/exit", "/quit", "/bye"):
                break
            if text == "/reset":
                history.clear()
                err_console.print("history cleared.")
                continue
            if text.startswith("/"):
                err_console.print(f"unknown command {text}; use /reset or /exit.")
                continue
            history.append(ChatMessage(role="user", content=text))
            request = GenerationRequest(messages=tuple(history), system=system, temperature=temperature,
                                        max_tokens=max_tokens, seed=seed)
            reply = _stream_reply(engine, request)
            history.append(ChatMessage(role="assistant", content=reply))
    except KeyboardInterrupt:
        console.print()  # Ctrl-C at the prompt leaves, as Ctrl-D does
    finally:
        engine.close()


def _stream_reply(engine: Engine, request: GenerationRequest) -> str:
    """Print a reply as it comes; Ctrl-C stops it early and keeps what was said."""
    reply: list[str] = []
    events = engine.stream(request)
    try:
        for event in events:
            if isinstance(event, TextDelta):
                reply.append(event.text)
                console.print(event.text, end="", markup=False, highlight=False, soft_wrap=True)
            elif isinstance(event, Finish) and event.reason == "length":
                err_console.print("\n[reply cut at --max-tokens]")
    except KeyboardInterrupt:
        err_console.print("\n[reply stopped]")
    finally:
        close = getattr(events, "close", None)
        if callable(close):
            close()  # frees the engine's sequence at once
    console.print()
    return "".join(reply)
