"""Bounded fuzzing of the GGUF and safetensors header readers and of the template checks: on any input
the scanner may say unreadable, but it never crashes, never hangs, and never calls a broken file clean."""

from __future__ import annotations

import contextlib
import json
import struct
from pathlib import Path

import pytest
from artifact_builders import two_tensor_gguf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiny_gguf import write_tiny_gguf
from uptake.models.gguf_header import GGUFFormatError, parse_gguf_header
from uptake.scan import Location
from uptake.scan.checks.gguf import scan_gguf
from uptake.scan.checks.safetensors import scan_safetensors
from uptake.scan.templates.checks import check_template

# Fixed seeds keep the suite repeatable; no example database is written into the checkout.
FUZZ = settings(
    max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True, database=None
)
SEED_GGUF = two_tensor_gguf().to_bytes()


@pytest.fixture(scope="module")
def tiny_header(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    data = write_tiny_gguf(tmp_path_factory.mktemp("fuzz") / "seed.gguf").read_bytes()
    return data[: parse_gguf_header(data, len(data)).data_offset]


def _mutate(seed: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    data = bytearray(seed)
    for position, value in edits:
        data[position % len(data)] = value
    return bytes(data[: max(4, cut % (len(data) + 1))])


@pytest.mark.timeout(120)
@FUZZ
@given(st.binary(max_size=512))
def test_gguf_header_reader_only_raises_its_own_error(tail: bytes) -> None:
    data = b"GGUF" + struct.pack("<I", 3) + tail
    with contextlib.suppress(GGUFFormatError):
        parse_gguf_header(data, len(data))


@pytest.mark.timeout(120)
@FUZZ
@given(st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=8), st.integers(0, 1 << 16))
def test_gguf_checks_survive_mutated_headers(tiny_header: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    for seed in (SEED_GGUF, tiny_header):
        data = _mutate(seed, edits, cut)
        try:
            header = parse_gguf_header(data, len(data))
        except GGUFFormatError:
            continue
        assert header.data_offset >= 0


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=3000, derandomize=True, database=None)
@given(st.lists(st.tuples(st.integers(0, 1 << 12), st.integers(0, 255)), max_size=6), st.integers(0, 1 << 12))
def test_gguf_file_scan_never_fails(
    tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[int, int]], cut: int
) -> None:
    path = tmp_path_factory.mktemp("gguf-fuzz", numbered=True) / "m.gguf"
    path.write_bytes(_mutate(SEED_GGUF, edits, cut))
    scan = scan_gguf(path)
    if scan.header is None:
        assert [f.rule for f in scan.findings] == ["GGUF001"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
ENTRIES = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(["F32", "F16", "BF16", "I8", "U8", "F4", "BOOL", "X9"]),
        "shape": st.lists(st.integers(-2, 1 << 40), max_size=4),
        "data_offsets": st.lists(st.integers(-4, 1 << 40), min_size=0, max_size=3),
    }
)


@pytest.mark.timeout(120)
@settings(max_examples=200, deadline=2000, derandomize=True, database=None)
@given(
    st.one_of(
        st.binary(max_size=256),
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        st.dictionaries(st.text(max_size=6), ENTRIES | JSON_VALUES, max_size=5).map(lambda v: json.dumps(v).encode()),
    ),
    st.integers(0, (1 << 64) - 1),
    st.binary(max_size=64),
)
def test_safetensors_reader_never_fails(
    tmp_path_factory: pytest.TempPathFactory, header: bytes, claimed: int, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("st-fuzz", numbered=True) / "m.safetensors"
    for length in (len(header), claimed):
        path.write_bytes(struct.pack("<Q", length) + header + data)
        for finding in scan_safetensors(path):
            assert finding.rule.startswith("ST")


def test_fuzz_seeds_are_clean_files(tmp_path: Path) -> None:
    # The mutations start from files the scanner accepts, so the fuzzing explores near-valid inputs.
    path = tmp_path / "seed.gguf"
    path.write_bytes(SEED_GGUF)
    assert not [f for f in scan_gguf(path).findings if f.severity.value != "info"]


TEMPLATE_PIECES = st.sampled_from(
    [
        "{{ ",
        " }}",
        "{% if ",
        "{% for m in messages %}",
        "{% endfor %}",
        "{% endif %}",
        "{% set x = ",
        " %}",
        "m.content",
        "m['role']",
        "'__class__'",
        "|attr(",
        ")",
        "(",
        "'a' in ",
        "~",
        "+",
        "ns.",
        "x",
        "'text words here'",
        "{# ",
        " #}",
        "{%- ",
        " -%}",
        "\n",
        "https://a.example.com",
        "\U000e0041",
    ]
)


@pytest.mark.timeout(120)
@settings(max_examples=300, deadline=2000, derandomize=True, database=None)
@given(st.lists(TEMPLATE_PIECES | st.text(max_size=8), max_size=40).map("".join))
def test_template_checks_never_fail(source: str) -> None:
    for finding in check_template(source, Location(key="tokenizer.chat_template")):
        assert finding.rule.startswith("TPL")
