from __future__ import annotations

from pathlib import Path

import pytest
from gguf import GGUFReader

from tiny_gguf import CHATML_TEMPLATE
from uptake.errors import UsageError
from uptake.models.gguf_header import ArrayValue, GGUFFormatError, parse_gguf_header, read_gguf_header
from uptake.models.gguf_meta import read_gguf_metadata


def test_header_agrees_with_the_gguf_package_reader(tiny_gguf: Path) -> None:
    ours = read_gguf_header(tiny_gguf, keep_keys=frozenset({"tokenizer.ggml.tokens"}))
    theirs = GGUFReader(str(tiny_gguf), "r")
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    for mine, reference in zip(ours.tensors, theirs.tensors, strict=True):
        assert mine.n_elements == int(reference.n_elements)
        assert mine.n_bytes == int(reference.n_bytes)
        assert ours.data_offset + mine.offset == int(reference.data_offset)
    for key, field in theirs.fields.items():
        if key.startswith("GGUF."):
            continue
        value = ours.metadata[key]
        expected = field.contents()
        assert (value.values if isinstance(value, ArrayValue) else value) == pytest.approx(expected), key


def test_metadata_reads_the_facts_the_store_records(tiny_gguf: Path) -> None:
    meta = read_gguf_metadata(tiny_gguf)
    assert meta.architecture == "llama"
    assert meta.block_count == 2 and meta.embedding_length == 64 and meta.head_count_kv == 2
    assert meta.chat_template == CHATML_TEMPLATE
    assert meta.chat_template_sha256 is not None and len(meta.chat_template_sha256) == 64
    assert meta.eos_token == "<|im_end|>"
    assert meta.quantization == "F32"
    assert meta.parameters > 0 and meta.tensor_bytes == meta.parameters * 4


@pytest.mark.parametrize("cut", [3, 10, 24, 200, 2000])
def test_truncated_headers_fail_with_an_offset(tiny_gguf: Path, cut: int) -> None:
    data = tiny_gguf.read_bytes()[:cut]
    with pytest.raises(GGUFFormatError) as raised:
        parse_gguf_header(data, len(data))
    assert raised.value.offset <= cut


def test_wrong_magic_and_version_are_named(tiny_gguf: Path) -> None:
    data = bytearray(tiny_gguf.read_bytes()[:4096])
    with pytest.raises(GGUFFormatError, match="magic"):
        parse_gguf_header(b"GGML" + bytes(data[4:]), len(data))
    data[4] = 99
    with pytest.raises(GGUFFormatError, match="version 99"):
        parse_gguf_header(bytes(data), len(data))


def test_metadata_of_a_non_gguf_is_a_user_error(tmp_path: Path) -> None:
    other = tmp_path / "notes.gguf"
    other.write_text("hello")
    with pytest.raises(UsageError, match="not a GGUF"):
        read_gguf_metadata(other)
    with pytest.raises(UsageError, match="does not exist"):
        read_gguf_metadata(tmp_path / "missing.gguf")
