from __future__ import annotations

import pytest

from uptake.engines.base import Engine, GenerationRequest
from uptake.engines.mock import MockEngine
from uptake.errors import ContextOverflowError


def test_mock_plays_its_script_and_records_requests() -> None:
    engine = MockEngine(["first reply", "second reply here"])
    assert isinstance(engine, Engine)
    results = engine.generate_batch([GenerationRequest.from_prompt("a"), GenerationRequest.from_prompt("b")])
    assert [r.text for r in results] == ["first reply", "second reply here"]
    assert [r.usage.completion_tokens for r in results] == [2, 3]
    assert engine.batches == [2] and len(engine.requests) == 2


def test_mock_honours_max_tokens_stop_and_context() -> None:
    engine = MockEngine(responder=lambda r: "one two three four")
    cut = engine.generate(GenerationRequest.from_prompt("x", max_tokens=2))
    assert cut.text == "one two" and cut.finish_reason == "length"
    stopped = engine.generate(GenerationRequest.from_prompt("x", stop=(" three",)))
    assert stopped.text == "one two" and stopped.finish_reason == "stop"
    with pytest.raises(ContextOverflowError):
        MockEngine(context_size=3).generate(GenerationRequest.from_prompt("too many words here"))
