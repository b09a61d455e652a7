"""Helpers shared by the server tests (imported by name: pytest puts this folder on sys.path).

Most tests serve a scripted MockEngine: what they test is the server's own logic (wire format, auth,
errors, queueing, disconnects), and the mock keeps a batching engine's promises. Tests of batching and
one end-to-end test serve the tiny GGUF on the real llama.cpp engine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from polling import wait_for
from uptake.engines.base import Engine, GenerationRequest
from uptake.engines.mock import MockEngine
from uptake.serve.registry import ModelRegistry, ModelSpec, ServedModel
from uptake.serve.runner import ServeOptions, load_served_model
from uptake.settings import get_settings

CONTEXT = 256
PARALLEL = 4
BASE_URL = "http://uptake.test"


def chatty(request: GenerationRequest) -> str:
    """The prompt echoed, then more words than most token limits, which depend on the seed: like a model,
    a request's text repeats for the same seed and differs for another."""
    seed = "any" if request.seed is None else request.seed
    return " ".join([request.messages[-1].content, *(f"w{seed}.{index}" for index in range(CONTEXT))])


def endless(request: GenerationRequest) -> str:
    """As many words as the request allows: a sequence that runs until its limit or its cancellation."""
    return " ".join(["a"] * request.max_tokens)


def mock_engine(**options: object) -> MockEngine:
    settings: dict[str, object] = {"responder": chatty, "context_size": CONTEXT, "parallel": PARALLEL, **options}
    return MockEngine(**settings)  # type: ignore[arg-type]


def registry_of(engine: Engine, name: str = "tiny", aliases: tuple[str, ...] = ("tiny-alias",)) -> ModelRegistry:
    models = ModelRegistry()
    models.add(ServedModel(name=name, engine=engine, aliases=aliases))
    models.mark_ready()
    return models


def mock_registry(**options: object) -> ModelRegistry:
    return registry_of(mock_engine(**options))


def long_body(tokens: int, **fields: object) -> dict[str, object]:
    """A chat request for `tokens` tokens; served by an `endless` mock engine it runs until cancelled."""
    return {
        "model": "tiny",
        "messages": [{"role": "user", "content": "go"}],
        "max_tokens": tokens,
        "temperature": 0,
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


SERVE = [sys.executable, "-m", "uptake", "serve"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def healthy(base_url: str, process: subprocess.Popen[str]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"the server exited early: {process.communicate()[1][-2000:]}")
    try:
        return httpx.get(f"{base_url}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def serve_process(args: list[str], *, ready_timeout_s: float) -> Iterator[str]:
    """`uptake serve ARGS` as a real process on a free loopback port; its base URL once /health is 200."""
    port = free_port()
    with server_process([*SERVE, *args, "--port", str(port), "--log-level", "warning"], port,
                        ready_timeout_s=ready_timeout_s) as base_url:
        yield base_url


@contextmanager
def server_process(command: list[str], port: int, *, ready_timeout_s: float,
                   env: dict[str, str] | None = None) -> Iterator[str]:
    """A server started by `command` on loopback `port` (with `env` added to the environment); its base URL
    once /health is 200. Stopped with SIGINT, as a user stops it, and killed only if that does not end it; it
    must then exit 0."""
    environment = None if env is None else {**os.environ, **env}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base_url, process), what="the server to be ready", timeout_s=ready_timeout_s)
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=30)  # also closes the pipes
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, f"the server did not stop cleanly on SIGINT ({process.returncode})"
