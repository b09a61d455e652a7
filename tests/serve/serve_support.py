"""Helpers shared by the server tests (imported by name: pytest puts this folder on sys.path).

Most tests serve a scripted MockEngine: what they test is the server's own logic (wire format, auth,
errors, queueing, disconnects), and the mock keeps a batching engine's promises. Tests of batching and
one end-to-end test serve the tiny GGUF on the real llama.cpp engine.
"""

from __future__ import annotations

from pathlib import Path

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
