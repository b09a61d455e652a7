"""Serve the console on the scripted mock engine, as a process of its own, for the browser suite.

    python tests/web/console_server.py --home HOME --port PORT [--api-key KEY]

The app is the one `uptake serve --ui` runs (create_app with ui on, uvicorn), on HOME's store and runs; only the
models are scripted: "mock-a" and "mock-b" (alias: the XSS probe) answer "You said: <prompt>" followed by words,
20 ms a token, so a stream can be watched and stopped; the prompt "xss" gets the probe back; "long" gets 2000
words (a stream that runs until it is stopped).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console_data import PROBE
from uptake.engines.base import GenerationRequest
from uptake.engines.mock import MockEngine
from uptake.serve.app import create_app
from uptake.serve.registry import ModelRegistry, ServedModel
from uptake.settings import Settings

STEP_S = 0.02


def respond(request: GenerationRequest) -> str:
    prompt = request.messages[-1].content
    if prompt == "xss":
        return PROBE
    words = 2000 if prompt == "long" else 12
    return " ".join(["You said:", prompt, *(f"word{index}" for index in range(words))])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", action="append", default=[])
    args = parser.parse_args()
    import uvicorn

    models = ModelRegistry()
    for name, aliases in (("mock-a", ()), ("mock-b", (f"mock {PROBE}",))):
        engine = MockEngine(responder=respond, context_size=8192, parallel=2, step_s=STEP_S)
        engine.start()
        models.add(ServedModel(name=name, engine=engine, aliases=aliases))
    models.mark_ready()
    app = create_app(models, api_keys=args.api_key, ui=True, settings=Settings(home=args.home))
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    finally:
        models.close()


if __name__ == "__main__":
    main()
