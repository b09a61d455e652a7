"""GGUF structure rules: each fires on a file broken in one way and stays quiet on a sound one."""

from __future__ import annotations

from pathlib import Path

import pytest
from artifact_builders import RawTensor, fires, patch_tensor_field, quiet, scan_one, two_tensor_gguf
from gguf import GGUFValueType

from tiny_gguf import write_tiny_gguf
from uptake.scan import Severity, Verdict
from uptake.scan.checks import gguf as gguf_checks


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def test_a_file_from_the_gguf_writer_is_clean(tiny: Path) -> None:
    report = scan_one(tiny)
    assert report.format == "gguf" and report.verdict is Verdict.CLEAN
    quiet(report.findings)
    fires(report.findings, "PROV004", Severity.INFO)  # not a catalog file: said, but not a warning
    assert set(report.chat_templates) == {"tokenizer.chat_template"}


def test_a_hand_built_consistent_file_is_clean(tmp_path: Path) -> None:
    quiet(scan_one(two_tensor_gguf().write(tmp_path / "raw.gguf")).findings)


def test_header_cut_short_is_unreadable_with_its_offset(tiny: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny.read_bytes()[:300])
    report = scan_one(cut)
    finding = fires(report.findings, "GGUF001", Severity.ERROR)
    assert report.verdict is Verdict.UNREADABLE and finding.location.offset is not None


def test_truncated_data_is_unreadable_never_clean(tiny: Path, tmp_path: Path) -> None:
    data = tiny.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) - 1000])
    report = scan_one(cut)
    finding = fires(report.findings, "GGUF007", Severity.ERROR)
    assert finding.location.tensor == "output.weight" and report.verdict is Verdict.UNREADABLE


def test_duplicate_metadata_key_is_dangerous(tmp_path: Path) -> None:
    raw = two_tensor_gguf()
    raw.metadata.append(("general.name", GGUFValueType.STRING, "second"))
    finding = fires(scan_one(raw.write(tmp_path / "dup.gguf")).findings, "GGUF002", Severity.DANGEROUS)
    assert finding.location.key == "general.name"


def test_unknown_tensor_type_is_unreadable(tiny: Path, tmp_path: Path) -> None:
    path = tmp_path / "type.gguf"
    path.write_bytes(patch_tensor_field(tiny.read_bytes(), 0, "type", 250))
    assert fires(scan_one(path).findings, "GGUF003", Severity.ERROR).location.tensor == "token_embd.weight"


def test_shape_that_is_not_whole_blocks_is_unreadable(tmp_path: Path) -> None:
    q4_0 = 2
    raw = two_tensor_gguf(tensors=[RawTensor("q.weight", (33,), 0, q4_0)])
    fires(scan_one(raw.write(tmp_path / "blocks.gguf")).findings, "GGUF004", Severity.ERROR)


def test_shape_overflowing_64_bits_is_dangerous(tiny: Path, tmp_path: Path) -> None:
    path = tmp_path / "overflow.gguf"
    path.write_bytes(patch_tensor_field(tiny.read_bytes(), 1, "dim0", 1 << 63))
    fires(scan_one(path).findings, "GGUF005", Severity.DANGEROUS)


def test_misaligned_offset_is_unreadable(tmp_path: Path) -> None:
    raw = two_tensor_gguf(tensors=[RawTensor("a.weight", (4,), 0), RawTensor("b.weight", (4,), 33)])
    fires(scan_one(raw.write(tmp_path / "align.gguf")).findings, "GGUF006", Severity.ERROR)


def test_duplicate_tensor_name_is_dangerous(tmp_path: Path) -> None:
    raw = two_tensor_gguf(tensors=[RawTensor("a.weight", (4,), 0), RawTensor("a.weight", (4,), 32)])
    fires(scan_one(raw.write(tmp_path / "twice.gguf")).findings, "GGUF008", Severity.DANGEROUS)


def test_overlapping_tensors_are_dangerous(tiny: Path, tmp_path: Path) -> None:
    path = tmp_path / "overlap.gguf"
    path.write_bytes(patch_tensor_field(tiny.read_bytes(), 2, "offset", 0))
    finding = fires(scan_one(path).findings, "GGUF009", Severity.DANGEROUS)
    assert finding.location.tensor is not None


def test_gap_between_tensors_is_a_warning(tmp_path: Path) -> None:
    raw = two_tensor_gguf(tensors=[RawTensor("a.weight", (4,), 0), RawTensor("b.weight", (4,), 96)])
    raw.data = raw.data + b"\0" * 64
    report = scan_one(raw.write(tmp_path / "gap.gguf"))
    assert fires(report.findings, "GGUF010", Severity.WARNING).location.tensor == "b.weight"
    assert report.verdict is Verdict.WARNING


def test_huge_alignment_is_a_warning(tmp_path: Path) -> None:
    alignment = 1 << 17
    raw = two_tensor_gguf(alignment=alignment, tensors=[RawTensor("a.weight", (4,), 0)], data=bytes(16))
    raw.metadata.append(("general.alignment", GGUFValueType.UINT32, alignment))
    findings = scan_one(raw.write(tmp_path / "wide.gguf")).findings
    assert fires(findings, "GGUF010", Severity.WARNING).location.key == "general.alignment"


def test_bytes_after_the_last_tensor_are_a_warning(tiny: Path, tmp_path: Path) -> None:
    path = tmp_path / "tail.gguf"
    path.write_bytes(tiny.read_bytes() + b"#!/bin/sh\necho appended\n" * 4)
    fires(scan_one(path).findings, "GGUF011", Severity.WARNING)


def test_oversized_metadata_string_is_a_warning(tmp_path: Path) -> None:
    raw = two_tensor_gguf()
    raw.metadata.append(("general.description", GGUFValueType.STRING, "x" * (gguf_checks.MAX_METADATA_STRING + 1)))
    finding = fires(scan_one(raw.write(tmp_path / "big.gguf")).findings, "GGUF012", Severity.WARNING)
    assert finding.location.key == "general.description"


def test_oversized_header_is_a_warning(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gguf_checks, "MAX_HEADER_BYTES", 1024)
    fires(scan_one(tiny).findings, "GGUF012", Severity.WARNING)


def test_vocabulary_only_file_is_noted(tmp_path: Path) -> None:
    raw = two_tensor_gguf(tensors=[], data=b"")
    report = scan_one(raw.write(tmp_path / "vocab.gguf"))
    fires(report.findings, "GGUF013", Severity.INFO)
    assert report.verdict is Verdict.CLEAN


def test_template_key_holding_a_number_is_a_warning(tmp_path: Path) -> None:
    raw = two_tensor_gguf()
    raw.metadata.append(("tokenizer.chat_template", GGUFValueType.UINT32, 7))
    fires(scan_one(raw.write(tmp_path / "number.gguf")).findings, "GGUF014", Severity.WARNING)


def test_named_templates_are_all_checked(tmp_path: Path) -> None:
    raw = two_tensor_gguf()
    raw.metadata.append(("tokenizer.chat_template", GGUFValueType.STRING, "{{ messages[0]['content'] }}"))
    raw.metadata.append(("tokenizer.chat_template.tool_use", GGUFValueType.STRING, "{{ ''.__class__ }}"))
    report = scan_one(raw.write(tmp_path / "named.gguf"))
    assert fires(report.findings, "TPL002").location.key == "tokenizer.chat_template.tool_use"
    assert set(report.chat_templates) == {"tokenizer.chat_template", "tokenizer.chat_template.tool_use"}
