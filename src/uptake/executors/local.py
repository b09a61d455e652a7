"""Run requests on an Engine in this process: every request is submitted to its continuous-batching
scheduler, so rows decode together and rows that share a prefix (a task's system prompt and examples)
compute it once."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

from uptake.engines.base import Engine, Finish, GenerationRequest, TextDelta
from uptake.errors import UptakeError
from uptake.executors.base import Completion, TokenProbability


class LocalExecutor:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def concurrency(self) -> int:
        info = self.engine.info
        return max(1, info.parallel + min(info.max_waiting, info.parallel))

    def describe(self) -> dict[str, Any]:
        return {"kind": "local", "endpoint": None, **asdict(self.engine.info)}

    def counters(self) -> dict[str, int]:
        return {"reused_prompt_tokens": self.engine.stats().reused_prompt_tokens}

    async def complete(self, request: GenerationRequest) -> Completion:
        started = time.perf_counter()
        try:
            prepared = self.engine.prepare(request)
            handle = self.engine.submit(prepared, loop=asyncio.get_running_loop())
        except UptakeError as error:  # a row too long for the context, say: that row fails, the run goes on
            return Completion("", "error", error=str(error), seconds=time.perf_counter() - started)
        parts: list[str] = []
        tokens: list[TokenProbability] = []
        try:
            async for event in handle:
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    tokens.extend(TokenProbability(item.token_bytes, item.logprob) for item in event.logprobs)
                elif isinstance(event, Finish):
                    return Completion(
                        "".join(parts), event.reason, event.usage.prompt_tokens, event.usage.completion_tokens,
                        tuple(tokens), None if event.reason != "error" else "the engine failed this row",
                        time.perf_counter() - started,
                    )
        except UptakeError as error:
            return Completion("".join(parts), "error", error=str(error), seconds=time.perf_counter() - started)
        finally:
            handle.cancel()
        return Completion("".join(parts), "error", error="the engine ended the row without finishing it")

    async def aclose(self) -> None:
        """The engine belongs to whoever loaded it, and stays open for the next run."""
