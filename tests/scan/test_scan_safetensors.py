"""safetensors rules: files from the official writer are clean; each malformation fires its rule."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from artifact_builders import f32_entry, fires, quiet, raw_safetensors, scan_one
from safetensors.numpy import save_file

from uptake.scan import Severity, Verdict
from uptake.scan.checks.safetensors import MAX_METADATA_VALUE


def write(path: Path, header: dict[str, Any] | bytes, data: bytes) -> Path:
    path.write_bytes(raw_safetensors(header, data))
    return path


def test_official_writer_output_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    tensors: dict[str, np.ndarray[Any, Any]] = {
        "a": np.arange(12, dtype=np.float32).reshape(3, 4),
        "b": np.ones(5, dtype=np.float16),
        "c": np.zeros((2, 2), dtype=np.int8),
    }
    save_file(tensors, str(path), metadata={"format": "np"})
    report = scan_one(path)
    assert report.format == "safetensors" and report.verdict is Verdict.CLEAN
    quiet(report.findings)


def test_hand_built_contiguous_file_is_clean(tmp_path: Path) -> None:
    header = {"a": f32_entry(0, 2), "b": f32_entry(8, 2)}
    quiet(scan_one(write(tmp_path / "ok.safetensors", header, bytes(16))).findings)


def test_file_shorter_than_the_length_field(tmp_path: Path) -> None:
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\x05\0\0")
    report = scan_one(path)
    fires(report.findings, "ST001", Severity.ERROR)
    assert report.verdict is Verdict.UNREADABLE


def test_truncated_header_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "cut.safetensors"
    path.write_bytes(struct.pack("<Q", 500) + b'{"a": {"dtype": "F32"')
    fires(scan_one(path).findings, "ST001", Severity.ERROR)


def test_header_beyond_the_loader_limit_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 200_000_000) + b"{}")
    fires(scan_one(path).findings, "ST002", Severity.ERROR)


@pytest.mark.parametrize("header", [b'{"a": [1, 2', b'{"a": "\xff\xfe"}', b"[1, 2, 3]"])
def test_header_that_is_not_a_json_object_is_unreadable(header: bytes, tmp_path: Path) -> None:
    fires(scan_one(write(tmp_path / "bad.safetensors", header, b"")).findings, "ST003", Severity.ERROR)


def test_duplicate_keys_are_dangerous(tmp_path: Path) -> None:
    entry = '{"dtype": "F32", "shape": [2], "data_offsets": [%d, %d]}'
    text = ('{"a": ' + entry % (0, 8) + ', "a": ' + entry % (8, 16) + "}").encode()
    finding = fires(
        scan_one(write(tmp_path / "dup.safetensors", text, bytes(16))).findings, "ST011", Severity.DANGEROUS
    )
    assert finding.location.key == "a"


@pytest.mark.parametrize(
    "entry",
    [
        {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]},
        {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]},
        {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]},
        {"dtype": "F32", "shape": [2]},
        "not an object",
    ],
)
def test_malformed_entry_is_unreadable(entry: Any, tmp_path: Path) -> None:
    finding = fires(
        scan_one(write(tmp_path / "e.safetensors", {"a": entry}, bytes(8))).findings, "ST004", Severity.ERROR
    )
    assert finding.location.tensor == "a"


def test_metadata_that_is_not_text_is_unreadable(tmp_path: Path) -> None:
    header = {"__metadata__": {"n": 1}, "a": f32_entry(0, 2)}
    fires(scan_one(write(tmp_path / "m.safetensors", header, bytes(8))).findings, "ST004", Severity.ERROR)


def test_dtype_times_shape_must_match_the_byte_range(tmp_path: Path) -> None:
    header = {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}
    fires(scan_one(write(tmp_path / "size.safetensors", header, bytes(8))).findings, "ST005", Severity.ERROR)


def test_data_outside_the_file_is_unreadable(tmp_path: Path) -> None:
    header = {"a": f32_entry(0, 2), "b": f32_entry(8, 100)}
    fires(scan_one(write(tmp_path / "out.safetensors", header, bytes(16))).findings, "ST006", Severity.ERROR)


def test_overlapping_tensors_are_dangerous(tmp_path: Path) -> None:
    header = {"a": f32_entry(0, 4), "b": f32_entry(8, 2)}
    finding = fires(
        scan_one(write(tmp_path / "o.safetensors", header, bytes(16))).findings, "ST007", Severity.DANGEROUS
    )
    assert finding.location.tensor == "b"


def test_gap_between_tensors_is_a_warning(tmp_path: Path) -> None:
    header = {"a": f32_entry(0, 2), "b": f32_entry(16, 2)}
    report = scan_one(write(tmp_path / "g.safetensors", header, bytes(24)))
    fires(report.findings, "ST008", Severity.WARNING)
    assert report.verdict is Verdict.WARNING


def test_oversized_metadata_value_is_a_warning(tmp_path: Path) -> None:
    header = {"__metadata__": {"notes": "x" * (MAX_METADATA_VALUE + 1)}, "a": f32_entry(0, 2)}
    fires(scan_one(write(tmp_path / "meta.safetensors", header, bytes(8))).findings, "ST009", Severity.WARNING)


def test_bytes_after_the_last_tensor_are_a_warning(tmp_path: Path) -> None:
    header = {"a": f32_entry(0, 2)}
    fires(
        scan_one(write(tmp_path / "t.safetensors", header, bytes(8) + b"PK\x03\x04hidden")).findings,
        "ST010",
        Severity.WARNING,
    )
