"""Pickle-based formats: raw pickles, PyTorch archives, legacy stacked pickles, NumPy .npy and .npz.

Every hostile fixture would call scan_marker.leave_marker if it were unpickled; each test also checks
that the marker file was never written."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from artifact_builders import fires, marker_pickle, pytorch_zip, quiet, scan_one, state_dict_pickle
from scan_marker import MarkerCall

from uptake.scan import Severity, Verdict
from uptake.scan.checks import archive as archive_checks

TENSORS = {"layer.weight": ("0", (2, 3)), "layer.bias": ("1", (3,))}
STORAGES = {"0": bytes(24), "1": bytes(12)}


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "MARKER"
    yield path
    assert not path.exists(), "a fixture was unpickled"


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_pickle_calling_a_function_off_the_allow_list_is_dangerous(protocol: int, marker: Path, tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(marker_pickle(marker, protocol))
    report = scan_one(path)
    finding = fires(report.findings, "PKL001", Severity.DANGEROUS)
    assert finding.evidence == "scan_marker.leave_marker" and finding.location.offset is not None
    assert report.format == "pickle" and report.verdict is Verdict.DANGEROUS


@pytest.mark.parametrize("protocol", [2, 4])
def test_plain_containers_and_numpy_arrays_are_clean(protocol: int, tmp_path: Path) -> None:
    path = tmp_path / "weights.pkl"
    state = OrderedDict(w=np.arange(6, dtype=np.float32).reshape(2, 3), b=np.float64(0.5), meta={"n": [1, 2.0, "x"]})
    path.write_bytes(pickle.dumps(state, protocol=protocol))
    quiet(scan_one(path).findings)


def test_pytorch_state_dict_archive_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(pytorch_zip(state_dict_pickle(TENSORS), STORAGES))
    report = scan_one(path)
    assert report.format == "pytorch-zip"
    quiet(report.findings)


def test_pytorch_archive_with_a_payload_is_dangerous(marker: Path, tmp_path: Path) -> None:
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(pytorch_zip(marker_pickle(marker, 2), STORAGES))
    finding = fires(scan_one(path).findings, "PKL001", Severity.DANGEROUS)
    assert finding.location.member == "archive/data.pkl"


def test_legacy_stacked_pickles_are_all_checked_and_their_storages_are_not_a_warning(
    marker: Path, tmp_path: Path
) -> None:
    parts = [
        pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2),
        pickle.dumps(1001, protocol=2),
        pickle.dumps({"little_endian": True}, protocol=2),
        state_dict_pickle(TENSORS),
        pickle.dumps(["0", "1"], protocol=2),
    ]
    path = tmp_path / "legacy.pth"
    path.write_bytes(b"".join(parts) + struct.pack("<q", 6) + bytes(24))
    report = scan_one(path)
    assert report.verdict is Verdict.CLEAN, report.findings
    path.write_bytes(b"".join(parts[:3]) + marker_pickle(marker, 2) + b"".join(parts[4:]))
    fires(scan_one(path).findings, "PKL001", Severity.DANGEROUS)
    # Without the legacy magic number, bytes after the last pickle are reported.
    path.write_bytes(b"".join(parts[1:]) + struct.pack("<q", 6) + bytes(24))
    report = scan_one(path)
    fires(report.findings, "PKL004", Severity.WARNING)
    assert report.verdict is Verdict.WARNING
    # A later stream in protocol 0 (no PROTO opcode) is still read.
    path.write_bytes(b"".join(parts[:3]) + marker_pickle(marker, 0) + b"".join(parts[4:]))
    fires(scan_one(path).findings, "PKL001", Severity.DANGEROUS)


def test_truncated_pickle_is_unreadable(tmp_path: Path) -> None:
    data = pickle.dumps({"w": list(range(100))}, protocol=2)
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[: len(data) // 2])
    report = scan_one(path)
    fires(report.findings, "PKL002", Severity.ERROR)
    assert report.verdict is Verdict.UNREADABLE


def test_pickle_that_cannot_be_followed_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "odd.pkl"
    path.write_bytes(b"\x80\x02R.")  # REDUCE on an empty stack: decodes, but means nothing
    fires(scan_one(path).findings, "PKL002", Severity.ERROR)


def test_torchscript_code_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "scripted.pt"
    extra = {"archive/code/__torch__/model.py": b"def forward(self, x):\n    return x\n"}
    path.write_bytes(pytorch_zip(state_dict_pickle(TENSORS), STORAGES, extra))
    fires(scan_one(path).findings, "PT001", Severity.WARNING)


def test_member_path_leaving_the_archive_is_dangerous(tmp_path: Path) -> None:
    path = tmp_path / "slip.pt"
    path.write_bytes(pytorch_zip(state_dict_pickle(TENSORS), STORAGES, {"../../.bashrc": b"echo owned"}))
    assert fires(scan_one(path).findings, "ZIP002", Severity.DANGEROUS).location.member == "../../.bashrc"


def _central_field(data: bytes, name: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Rewrite one field of the central-directory entry of member `name`."""
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(name)] != name:
        entry = data.index(b"PK\x01\x02", entry + 4)
    field = entry + offset
    return data[:field] + struct.pack(fmt, value) + data[field + struct.calcsize(fmt) :]


def test_encrypted_member_is_unreadable_and_a_false_encryption_flag_on_a_pickle_is_dangerous(tmp_path: Path) -> None:
    data = pytorch_zip(state_dict_pickle(TENSORS), STORAGES)
    path = tmp_path / "locked.pt"
    path.write_bytes(_central_field(data, b"archive/data.pkl", 8, "<H", 0x1))
    # The member is not encrypted at all: loaders read through the flag, so the pickle is analysed.
    fires(scan_one(path).findings, "ZIP006", Severity.DANGEROUS)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", bytes(range(7, 250)) * 4)  # what encrypted bytes look like
    path.write_bytes(_central_field(buffer.getvalue(), b"archive/data.pkl", 8, "<H", 0x1))
    fires(scan_one(path).findings, "ZIP003", Severity.ERROR)


def test_member_too_large_to_analyse_is_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive_checks, "MAX_MEMBER_BYTES", 100)
    path = tmp_path / "big.pt"
    path.write_bytes(pytorch_zip(state_dict_pickle(TENSORS), STORAGES))
    fires(scan_one(path).findings, "ZIP004", Severity.ERROR)


def test_corrupt_archive_is_unreadable(tmp_path: Path) -> None:
    data = pytorch_zip(state_dict_pickle(TENSORS), STORAGES)
    path = tmp_path / "broken.pt"
    path.write_bytes(data[: len(data) - 30])
    report = scan_one(path)
    assert report.verdict is Verdict.UNREADABLE
    fires(report.findings, "ZIP001", Severity.ERROR)


def test_zip_with_nothing_to_analyse_is_unreadable(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    path = tmp_path / "model.ckpt"
    path.write_bytes(buffer.getvalue())
    fires(scan_one(path).findings, "ZIP005", Severity.ERROR)


def test_npy_and_npz_from_numpy_are_clean(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.arange(10, dtype=np.int16))
    np.savez(tmp_path / "b.npz", x=np.ones((2, 2)), y=np.zeros(3, dtype=np.float32))
    for name, kind in (("a.npy", "numpy"), ("b.npz", "numpy-zip")):
        report = scan_one(tmp_path / name)
        assert report.format == kind
        quiet(report.findings)


def test_object_arrays_go_through_the_pickle_allow_list(marker: Path, tmp_path: Path) -> None:
    hostile = np.array([MarkerCall(str(marker))], dtype=object)
    np.save(tmp_path / "obj.npy", hostile, allow_pickle=True)
    np.savez(tmp_path / "obj.npz", x=hostile)
    fires(scan_one(tmp_path / "obj.npy").findings, "NPY004", Severity.INFO)
    fires(scan_one(tmp_path / "obj.npy").findings, "PKL001", Severity.DANGEROUS)
    assert fires(scan_one(tmp_path / "obj.npz").findings, "PKL001", Severity.DANGEROUS).location.member == "x.npy"
    np.save(tmp_path / "plain_obj.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    quiet(scan_one(tmp_path / "plain_obj.npy").findings)


def test_npy_header_damage_and_size_lies(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.arange(100, dtype=np.float64))
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "bad.npy").write_bytes(data[:10] + b"{'descr': <<<" + data[23:])
    fires(scan_one(tmp_path / "bad.npy").findings, "NPY001", Severity.ERROR)
    (tmp_path / "short.npy").write_bytes(data[:-8])
    fires(scan_one(tmp_path / "short.npy").findings, "NPY002", Severity.ERROR)
    (tmp_path / "long.npy").write_bytes(data + b"extra")
    fires(scan_one(tmp_path / "long.npy").findings, "NPY003", Severity.WARNING)
