"""`uptake scan` as a user meets it: exit codes, JSON for scripts, the ML-BOM, stored models by name."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from artifact_builders import marker_pickle, two_tensor_gguf
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from gguf import GGUFValueType
from typer.testing import CliRunner

from tiny_gguf import write_tiny_gguf
from uptake.cli.main import app
from uptake.cli.scan import ScanUsageError
from uptake.models.store import Store
from uptake.scan.schema import SCAN_REPORT_SCHEMA

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    hostile = folder / "hostile.pkl"
    hostile.write_bytes(marker_pickle(folder / "MARKER", 2))
    tail = write_tiny_gguf(folder / "tail.gguf")
    tail.write_bytes(tail.read_bytes() + b"appended")
    return {
        "clean": write_tiny_gguf(folder / "clean.gguf"),
        "warning": tail,
        "dangerous": hostile,
        "unreadable": folder / "cut.gguf",
    }


@pytest.fixture(autouse=True)
def _cut_file(files: dict[str, Path]) -> None:
    files["unreadable"].write_bytes(files["clean"].read_bytes()[:200])


@pytest.mark.parametrize(("kind", "code"), [("clean", 0), ("warning", 1), ("dangerous", 2), ("unreadable", 2)])
def test_exit_code_follows_the_verdict(kind: str, code: int, files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["scan", str(files[kind]), "--json"])
    assert result.exit_code == code, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCAN_REPORT_SCHEMA)
    assert data["verdict"] == kind


def test_strict_fails_on_warnings(files: dict[str, Path]) -> None:
    assert runner.invoke(app, ["scan", str(files["warning"]), "--strict"]).exit_code == 2
    assert runner.invoke(app, ["scan", str(files["clean"]), "--strict"]).exit_code == 0


def test_several_targets_give_the_worst_verdict(files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["scan", str(files["clean"]), str(files["dangerous"]), "--json"])
    assert result.exit_code == 2
    assert [f["verdict"] for f in json.loads(result.stdout)["files"]] == ["clean", "dangerous"]


def test_terminal_output_names_rule_location_and_verdict(files: dict[str, Path]) -> None:
    result = runner.invoke(app, ["scan", str(files["dangerous"])])
    assert "DANGEROUS" in result.stdout and "PKL001" in result.stdout and "scan_marker.leave_marker" in result.stdout


def test_bom_option_writes_a_cyclonedx_file(files: dict[str, Path], tmp_path: Path) -> None:
    bom = tmp_path / "bom.cdx.json"
    result = runner.invoke(app, ["scan", str(files["clean"]), "--bom", str(bom), "--json"])
    assert result.exit_code == 0
    assert json.loads(bom.read_text())["components"][0]["type"] == "machine-learning-model"


@pytest.mark.parametrize("args", [[], ["no-such-model:1b"]])
def test_usage_errors_exit_3(args: list[str]) -> None:
    result = runner.invoke(app, ["scan", *args])
    assert isinstance(result.exception, ScanUsageError) and result.exception.exit_code == 3


def test_a_stored_model_is_scanned_by_name(files: dict[str, Path]) -> None:
    Store().import_file(files["clean"], name="tiny")
    result = runner.invoke(app, ["scan", "tiny", "--json"])
    assert result.exit_code == 0, result.output
    scanned = json.loads(result.stdout)["files"][0]
    assert scanned["format"] == "gguf" and scanned["sha256"] == Path(scanned["path"]).name


def test_undecodable_bytes_in_a_file_still_give_valid_json_and_bom(tmp_path: Path) -> None:
    raw = two_tensor_gguf()
    raw.metadata.append(
        ("tokenizer.chat_template", GGUFValueType.STRING, b"{{ x.__class__ }} http://a\xff.example.com/")
    )
    path = raw.write(tmp_path / "bytes.gguf")
    bom = tmp_path / "bom.json"
    result = runner.invoke(app, ["scan", str(path), "--json", "--bom", str(bom)])
    assert result.exit_code == 2, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCAN_REPORT_SCHEMA)
    findings = {f["rule"]: f for f in data["files"][0]["findings"]}
    assert "TPL002" in findings and "\\udcff" in findings["TPL009"]["evidence"]
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom.read_text()) is None
