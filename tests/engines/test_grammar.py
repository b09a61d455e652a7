"""One JSON schema, one grammar: `uptake run --json-schema` (the engine's single-sequence path) and the
scheduler (serve, the audit's batches) constrain a schema with the same grammar text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llama_cpp
import pytest
from llama_cpp.llama_grammar import LlamaGrammar

from uptake.engines.base import GenerationRequest, collect
from uptake.engines.llamacpp import LlamaCppEngine
from uptake.engines.llamacpp.grammar import grammar_for_schema
from uptake.engines.loader import load_engine

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "size": {"enum": ["small", "large"]}},
    "required": ["name", "size"],
}


@pytest.fixture
def engine(tiny_gguf: Path) -> Iterator[LlamaCppEngine]:
    loaded = load_engine(str(tiny_gguf), context_size=256, threads=1, parallel=2)
    yield loaded
    loaded.close()


def test_run_and_the_scheduler_get_the_same_grammar_for_a_schema(
    engine: LlamaCppEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone: list[str] = []  # what llama-cpp-python's generator was given (`uptake run`)
    scheduled: list[str] = []  # what the scheduler's sampler chains were given (serve, audit)
    from_string = LlamaGrammar.from_string.__func__  # type: ignore[attr-defined]
    init_grammar = llama_cpp.llama_sampler_init_grammar

    def spy_from_string(cls: type[LlamaGrammar], grammar: str, verbose: bool = True) -> Any:
        alone.append(grammar)
        return from_string(cls, grammar, verbose)

    def spy_init_grammar(vocab: Any, grammar: bytes, root: bytes) -> Any:
        scheduled.append(grammar.decode("utf-8"))
        return init_grammar(vocab, grammar, root)

    monkeypatch.setattr(LlamaGrammar, "from_string", classmethod(spy_from_string))
    monkeypatch.setattr(llama_cpp, "llama_sampler_init_grammar", spy_init_grammar)
    request = GenerationRequest.from_prompt("describe it", temperature=0.0, max_tokens=4, json_schema=SCHEMA)

    engine.generate(request)
    engine.generate_batch([request, request])
    collect(iter(engine.submit(engine.prepare(request))))

    expected = grammar_for_schema(SCHEMA)
    assert alone == [expected]
    assert scheduled == [expected] * 3
    assert r"\x00-\x1F" in expected  # JSON strings admit no raw control characters
