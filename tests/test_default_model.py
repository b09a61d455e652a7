"""Slow tests on the real default model, pulled from its PyPI carrier and verified."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from uptake.engines.base import GenerationRequest
from uptake.engines.llamacpp import LlamaCppEngine
from uptake.engines.loader import load_engine
from uptake.models.catalog import load_catalog
from uptake.models.download import sha256_file
from uptake.models.pull import pull_model
from uptake.models.store import Store, StoredModel
from uptake.settings import Settings

pytestmark = pytest.mark.slow
DEFAULT = load_catalog().default


@pytest.fixture(scope="module")
def default_model(real_model_home: Path) -> StoredModel:
    store = Store(Settings(home=real_model_home))
    model, _ = pull_model(store, DEFAULT)
    return model


@pytest.fixture(scope="module")
def engine(default_model: StoredModel, real_model_home: Path) -> Iterator[LlamaCppEngine]:
    loaded = load_engine(DEFAULT, Settings(home=real_model_home, context_size=2048))
    yield loaded
    loaded.close()


def test_the_pulled_file_matches_the_published_hash(default_model: StoredModel) -> None:
    entry = load_catalog().get(DEFAULT)
    assert default_model.trust == "verified"
    assert sha256_file(default_model.path) == entry.sha256
    assert default_model.size == entry.size_bytes


def test_metadata_is_read_from_the_header(default_model: StoredModel) -> None:
    meta = default_model.metadata
    assert meta["architecture"] == "qwen2"
    assert meta["quantization"] == "Q4_K_M"
    assert meta["block_count"] == 24 and meta["context_length"] == 32768
    assert "<|im_start|>" in meta["chat_template"] and len(meta["chat_template_sha256"]) == 64


def test_greedy_generation_answers_and_repeats(engine: LlamaCppEngine) -> None:
    request = GenerationRequest.from_prompt(
        "What is the capital of France? Answer in one word.", temperature=0.0, seed=0, max_tokens=16
    )
    first = engine.generate(request)
    assert "Paris" in first.text
    assert engine.generate(request).text == first.text
    assert first.usage.prompt_tokens > 10 and first.usage.completion_tokens > 0


def test_json_schema_request_returns_valid_json(engine: LlamaCppEngine) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population_millions": {"type": "number"}},
        "required": ["city", "population_millions"],
    }
    request = GenerationRequest.from_prompt(
        "Give the largest city of Japan and its population.", temperature=0.0, max_tokens=80, json_schema=schema
    )
    value = json.loads(engine.generate(request).text)
    jsonschema.validate(value, schema)
    assert "tokyo" in value["city"].lower()
