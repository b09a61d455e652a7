"""The scanner on GGUF LoRA adapters: base recorded or not, adapter type, tensors that are not LoRA pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from artifact_builders import fires
from gguf import GGUFWriter

from uptake.scan.checks.gguf import scan_gguf
from uptake.scan.report import Severity

BASE = "ab" * 32
PAIR = ("blk.0.ffn_down.weight.lora_a", "blk.0.ffn_down.weight.lora_b")


def write_adapter_file(path: Path, *, kind: str = "lora", lineage: dict[str, object] | None = None,
                       tensors: tuple[str, ...] = PAIR) -> Path:
    writer = GGUFWriter(str(path), "llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", kind)
    writer.add_float32("adapter.lora.alpha", 1.0)
    if lineage is not None:
        writer.add_string("uptake.lineage", json.dumps(lineage))
    for name in tensors:
        writer.add_tensor(name, np.ones((1, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_an_adapter_with_lineage_names_its_base(tmp_path: Path) -> None:
    findings = scan_gguf(write_adapter_file(tmp_path / "a.gguf", lineage={"base": {"sha256": BASE}})).findings
    finding = fires(findings, "ADPT001", Severity.INFO)
    assert finding.evidence == BASE and "1 weight" in finding.message
    assert not [f for f in findings if f.rule in ("ADPT002", "ADPT003", "ADPT004")]


def test_an_adapter_without_a_base_is_a_warning(tmp_path: Path) -> None:
    findings = scan_gguf(write_adapter_file(tmp_path / "a.gguf")).findings
    fires(findings, "ADPT002", Severity.WARNING)


def test_an_adapter_of_another_type_is_a_warning(tmp_path: Path) -> None:
    findings = scan_gguf(write_adapter_file(tmp_path / "a.gguf", kind="control_vector",
                                            lineage={"base": {"sha256": BASE}})).findings
    fires(findings, "ADPT003", Severity.WARNING)


def test_tensors_that_are_not_lora_pairs_are_warnings(tmp_path: Path) -> None:
    path = write_adapter_file(tmp_path / "a.gguf", lineage={"base": {"sha256": BASE}},
                              tensors=("blk.0.ffn_down.weight.lora_a", "blk.0.attn_output.weight"))
    findings = [f for f in scan_gguf(path).findings if f.rule == "ADPT004"]
    assert len(findings) == 2  # one stray tensor, one weight with half a pair
    fires(findings, "ADPT004", Severity.WARNING)


def test_a_model_file_is_not_an_adapter(tmp_path: Path, tiny_gguf: Path) -> None:
    assert not [f for f in scan_gguf(tiny_gguf).findings if f.rule.startswith("ADPT")]
