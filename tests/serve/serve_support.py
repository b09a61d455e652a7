"""Helpers shared by the server tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from uptake.serve.registry import ModelRegistry, ModelSpec
from uptake.serve.runner import ServeOptions, load_served_model
from uptake.settings import get_settings

CONTEXT = 256
PARALLEL = 4
BASE_URL = "http://uptake.test"


def forced_long_body(tokens: int, **fields: object) -> dict[str, object]:
    """A chat request whose schema forces `tokens` tokens with no way to stop early: seconds of work,
    so a sequence that is gone within a test's short waits was cancelled, not finished."""
    schema = {"type": "string", "pattern": f"^a{{{tokens}}}$"}
    return {
        "model": "tiny",
        "messages": [{"role": "user", "content": "go"}],
        "max_tokens": tokens + 10,
        "temperature": 0,
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
        **fields,
    }


def tiny_registry(tiny_gguf: Path, **options: object) -> ModelRegistry:
    settings = {"parallel": PARALLEL, "context_per_sequence": CONTEXT, "threads": 1, **options}
    models = ModelRegistry()
    spec = ModelSpec(source=str(tiny_gguf), name="tiny", aliases=("tiny-alias",))
    models.add(load_served_model(spec, ServeOptions(**settings), get_settings()))  # type: ignore[arg-type]
    models.mark_ready()
    return models


class LiveServer:
    """A real uvicorn server on a free loopback port, in a thread, for tests that need real sockets."""

    def __init__(self, app: object) -> None:
        import threading

        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_for(lambda: self.server.started, what="the server to start")
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def wait_for(condition: Callable[[], object], *, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def wait_for_async(condition: Callable[[], object], *, what: str, timeout_s: float = 30.0) -> None:
    """`wait_for` for async tests: polls without blocking the event loop the clients run on."""
    import asyncio

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
