"""The real llama.cpp engine on the tiny random-weight GGUF."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from uptake.engines.base import Engine, Finish, GenerationRequest, PromptRequest, SamplingSettings, TextDelta
from uptake.engines.llamacpp import LlamaCppEngine
from uptake.engines.loader import load_engine
from uptake.errors import ContextOverflowError, UsageError
from uptake.models.store import Store
from uptake.models.template_hash import chat_template_sha256


@pytest.fixture(scope="module")
def engine(tiny_gguf: Path) -> Iterator[LlamaCppEngine]:
    loaded = load_engine(str(tiny_gguf), context_size=256, threads=1)
    yield loaded
    loaded.close()


def greedy(prompt: str, **settings: object) -> GenerationRequest:
    return GenerationRequest.from_prompt(prompt, temperature=0.0, **settings)


def test_engine_satisfies_the_seam(engine: LlamaCppEngine) -> None:
    assert isinstance(engine, Engine)
    assert engine.context_size == 256


def test_info_names_what_the_engine_was_loaded_with(engine: LlamaCppEngine, tiny_gguf: Path) -> None:
    info = engine.info
    assert info.engine == "LlamaCppEngine" and info.model_path == str(tiny_gguf)
    assert (info.context_size, info.context_per_sequence, info.threads, info.flash_attention) == (256, 256, 1, False)
    assert engine.chat_template is not None
    assert info.chat_template_sha256 == chat_template_sha256(engine.chat_template)
    assert info.vocabulary_size > 256 and info.embedding_size == 64


def test_prepare_tokenizes_chat_and_raw_prompts_and_checks_them(engine: LlamaCppEngine) -> None:
    chat = engine.prepare(greedy("hello there"))
    assert list(chat.tokens) == engine.tokenize_prompt(greedy("hello there"))
    assert chat.sampling == greedy("hello there").sampling_settings()
    text = engine.prepare(PromptRequest(prompt="once upon <|im_end|>"))
    assert list(text.tokens) == engine.tokenize_text("once upon <|im_end|>")
    assert engine.prepare(PromptRequest(prompt=text.tokens)).tokens == text.tokens
    with pytest.raises(UsageError, match="token ids"):
        engine.prepare(PromptRequest(prompt=(1, engine.info.vocabulary_size)))
    with pytest.raises(ContextOverflowError):
        engine.prepare(PromptRequest(prompt="word " * 300))
    with pytest.raises(UsageError, match="JSON schema"):
        engine.prepare(PromptRequest(prompt="x", sampling=SamplingSettings(json_schema={"type": "no-such-type"})))


def test_greedy_generation_is_deterministic_and_respects_max_tokens(engine: LlamaCppEngine) -> None:
    first = engine.generate(greedy("hello there", max_tokens=12))
    second = engine.generate(greedy("hello there", max_tokens=12))
    assert first.text == second.text
    assert first.usage.completion_tokens <= 12
    assert first.finish_reason in ("length", "stop")
    if first.finish_reason == "length":
        assert first.usage.completion_tokens == 12


def test_seed_makes_sampling_repeatable(engine: LlamaCppEngine) -> None:
    request = GenerationRequest.from_prompt("a story", temperature=1.5, top_p=1.0, max_tokens=16, seed=7)
    assert engine.generate(request).text == engine.generate(request).text


def test_stream_ends_with_one_finish_carrying_usage(engine: LlamaCppEngine) -> None:
    events = list(engine.stream(greedy("count", max_tokens=8)))
    assert isinstance(events[-1], Finish)
    assert all(isinstance(e, TextDelta) for e in events[:-1])
    finish = events[-1]
    assert finish.usage.prompt_tokens == engine.count_prompt_tokens(greedy("count"))


def test_prompt_that_does_not_fit_is_refused_not_truncated(engine: LlamaCppEngine) -> None:
    with pytest.raises(ContextOverflowError, match="context holds 256"):
        engine.generate(greedy("word " * 400, max_tokens=4))


def test_json_schema_output_validates(engine: LlamaCppEngine) -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "ok": {"type": "boolean"}},
        "required": ["n", "ok"],
        "additionalProperties": False,
    }
    result = engine.generate(greedy("give json", max_tokens=64, json_schema=schema))
    jsonschema.validate(json.loads(result.text), schema)


def test_unsupported_schema_is_a_user_error(engine: LlamaCppEngine) -> None:
    with pytest.raises(UsageError, match="JSON schema"):
        engine.generate(greedy("x", json_schema={"type": "no-such-type"}))


def test_embeddings_have_the_model_width(engine: LlamaCppEngine) -> None:
    vectors = engine.embed(["one", "two words"])
    assert len(vectors) == 2 and all(len(v) == 64 for v in vectors)
    assert vectors[0] != vectors[1]
    assert engine.count_embedding_tokens(["one", "two words"]) == sum(
        len(engine.tokenize_text(text)) for text in ("one", "two words")
    )
    with pytest.raises(ContextOverflowError):
        engine.embed(["word " * 300])


def test_batch_returns_results_in_request_order(engine: LlamaCppEngine) -> None:
    prompts = ["alpha", "beta", "gamma"]
    batch = engine.generate_batch([greedy(p, max_tokens=6) for p in prompts])
    single = [engine.generate(greedy(p, max_tokens=6)).text for p in prompts]
    assert [r.text for r in batch] == single


def test_loader_resolves_store_names(tiny_gguf: Path) -> None:
    Store().import_file(tiny_gguf, name="tiny")
    loaded = load_engine("tiny", context_size=128, threads=1)
    try:
        assert loaded.chat_template is not None and "<|im_start|>" in loaded.chat_template
    finally:
        loaded.close()


