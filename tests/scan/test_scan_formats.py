"""Format detection by content, ONNX models, Hugging Face folders, and files the scanner cannot read."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import onnx
import pytest
from artifact_builders import fires, marker_pickle, quiet, scan_one
from onnx import TensorProto, helper
from safetensors.numpy import save_file

from tiny_gguf import write_tiny_gguf
from uptake.scan import Severity, Verdict, scan_path, scanner
from uptake.scan.sniff import Format, sniff_file


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("weights.bin", pickle.dumps({"a": 1}, protocol=2), Format.PICKLE),
        ("weights.dat", b"GGUF\x03\0\0\0" + bytes(16), Format.GGUF),
        ("x.pt", b"\x93NUMPY\x01\x00", Format.NUMPY),
        ("x", b"\x89HDF\r\n\x1a\n" + bytes(8), Format.HDF5),
        ("notes.txt", b"just some text here", Format.UNKNOWN),
    ],
)
def test_format_comes_from_content_not_name(name: str, content: bytes, expected: Format, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert sniff_file(path) is expected


def test_a_pickle_named_safetensors_is_scanned_as_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(marker_pickle(tmp_path / "MARKER", 4))
    report = scan_one(path)
    assert report.format == "pickle"
    fires(report.findings, "SNIFF002", Severity.WARNING)
    fires(report.findings, "PKL001", Severity.DANGEROUS)
    assert not (tmp_path / "MARKER").exists()


def test_a_file_named_for_its_content_has_no_name_warning(tmp_path: Path) -> None:
    path = write_tiny_gguf(tmp_path / "m.gguf")
    assert not [f for f in scan_one(path).findings if f.rule == "SNIFF002"]


@pytest.mark.parametrize(
    ("name", "content"), [("model.bin", b"not a model, just text"), ("k.tflite", b"TFL3" + bytes(8))]
)
def test_unanalysed_formats_are_unreadable_never_clean(name: str, content: bytes, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    report = scan_one(path)
    fires(report.findings, "SNIFF001", Severity.ERROR)
    assert report.verdict is Verdict.UNREADABLE


def test_a_file_that_cannot_be_opened_is_unreadable(tmp_path: Path) -> None:
    link = tmp_path / "gone.gguf"
    link.symlink_to(tmp_path / "missing")
    report = scan_one(link)
    fires(report.findings, "IO001", Severity.ERROR)


def test_a_reader_bug_makes_the_file_unreadable_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: Path) -> list[object]:
        raise KeyError("bug")

    monkeypatch.setattr(scanner, "scan_safetensors", broken)
    path = tmp_path / "m.safetensors"
    save_file({"a": np.ones(2, dtype=np.float32)}, str(path))
    report = scan_one(path)
    fires(report.findings, "SCAN000", Severity.ERROR)
    assert report.verdict is Verdict.UNREADABLE


# ------------------------------------------------------------------------------------------- ONNX


def _onnx_model(*, domain: str = "", weight: TensorProto | None = None) -> onnx.ModelProto:
    weight = weight or helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])
    node = helper.make_node("Add", ["x", "w"], ["y"], domain=domain)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        [weight],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets)


def _external_weight(location: str) -> TensorProto:
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2], data_location=TensorProto.EXTERNAL)
    for key, value in (("location", location), ("offset", "0"), ("length", "8")):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def test_plain_onnx_model_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    onnx.save(_onnx_model(), str(path))
    report = scan_one(path)
    assert report.format == "onnx"
    quiet(report.findings)


def test_onnx_external_data_outside_the_folder_is_dangerous(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    onnx.save(_onnx_model(weight=_external_weight("../../home/user/.ssh/id_rsa")), str(path))
    finding = fires(scan_one(path).findings, "ONNX002", Severity.DANGEROUS)
    assert finding.location.tensor == "w"


def test_onnx_external_data_inside_the_folder_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    onnx.save(_onnx_model(weight=_external_weight("weights.bin")), str(path))
    fires(scan_one(path).findings, "ONNX004", Severity.ERROR)
    (tmp_path / "weights.bin").write_bytes(bytes(8))
    quiet(scan_one(path).findings)


def test_onnx_custom_operator_domain_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    onnx.save(_onnx_model(domain="com.example.native"), str(path))
    assert fires(scan_one(path).findings, "ONNX003", Severity.WARNING).evidence == "com.example.native"


def test_damaged_onnx_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(_onnx_model().SerializeToString()[:-7] + b"\xff\xff\xff")
    fires(scan_one(path).findings, "ONNX001", Severity.ERROR)


# ------------------------------------------------------------------------------ Hugging Face folders


def _hf_folder(folder: Path, tokenizer_config: dict[str, object] | None = None) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 8}))
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            tokenizer_config
            or {
                "chat_template": "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}",
            }
        )
    )
    (folder / "README.md").write_text("# a model card\nhttps://example.com\n")
    save_file({"w": np.ones(4, dtype=np.float32)}, str(folder / "model.safetensors"))
    return folder


def test_clean_hugging_face_folder(tmp_path: Path) -> None:
    report = scan_path(_hf_folder(tmp_path / "model"))
    assert sorted(Path(f.path).name for f in report.files) == [
        "config.json",
        "model.safetensors",
        "tokenizer_config.json",
    ]
    assert report.verdict is Verdict.CLEAN and report.exit_code() == 0
    tokenizer = next(f for f in report.files if f.path.endswith("tokenizer_config.json"))
    assert set(tokenizer.chat_templates) == {"chat_template"}


def test_hostile_template_in_tokenizer_config_is_dangerous(tmp_path: Path) -> None:
    folder = _hf_folder(
        tmp_path / "model",
        {
            "chat_template": [
                {"name": "default", "template": "{{ messages[0]['content'] }}"},
                {"name": "tool_use", "template": "{{ cycler.__init__.__globals__ }}"},
            ]
        },
    )
    report = scan_path(folder)
    tokenizer = next(f for f in report.files if f.path.endswith("tokenizer_config.json"))
    assert fires(tokenizer.findings, "TPL002").location.key == "chat_template.tool_use"
    assert report.verdict is Verdict.DANGEROUS and report.exit_code() == 2


def test_custom_code_in_a_folder_is_a_warning(tmp_path: Path) -> None:
    folder = _hf_folder(tmp_path / "model")
    (folder / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "modeling_x.XModel"}}))
    (folder / "modeling_x.py").write_text("import os\n")
    report = scan_path(folder)
    findings = [f for file in report.files for f in file.findings]
    fires(findings, "HF002", Severity.WARNING)
    fires(findings, "HF003", Severity.WARNING)
    assert report.verdict is Verdict.WARNING and report.exit_code() == 1 and report.exit_code(strict=True) == 2


def test_chat_template_file_is_checked(tmp_path: Path) -> None:
    folder = _hf_folder(tmp_path / "model")
    (folder / "chat_template.jinja").write_text("{% include 'secrets.txt' %}")
    findings = [f for file in scan_path(folder).files for f in file.findings]
    fires(findings, "TPL007", Severity.DANGEROUS)


def test_shard_index_rules(tmp_path: Path) -> None:
    folder = _hf_folder(tmp_path / "model")
    index = folder / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"w": "model.safetensors"}}))
    quiet([f for file in scan_path(folder).files for f in file.findings])
    index.write_text(json.dumps({"weight_map": {"w": "../../outside.safetensors", "v": "model-2.safetensors"}}))
    findings = [f for file in scan_path(folder).files for f in file.findings]
    fires(findings, "HF004", Severity.DANGEROUS)
    assert fires(findings, "HF005", Severity.ERROR).evidence == "model-2.safetensors"


def test_unreadable_json_in_a_folder(tmp_path: Path) -> None:
    folder = _hf_folder(tmp_path / "model")
    (folder / "config.json").write_text("{broken")
    findings = [f for file in scan_path(folder).files for f in file.findings]
    fires(findings, "HF001", Severity.ERROR)


def test_weights_with_odd_names_are_found_by_content(tmp_path: Path) -> None:
    folder = _hf_folder(tmp_path / "model")
    (folder / "blob-0001").write_bytes(marker_pickle(tmp_path / "MARKER", 2))
    report = scan_path(folder)
    fires([f for file in report.files for f in file.findings], "PKL001", Severity.DANGEROUS)


def test_empty_folder_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    report = scan_path(tmp_path / "empty")
    fires(report.files[0].findings, "SNIFF001", Severity.ERROR)
    assert report.verdict is Verdict.UNREADABLE
