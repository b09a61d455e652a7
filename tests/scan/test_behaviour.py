"""The behavioural backdoor screen on tiny models with a backdoor planted in-process (tests/planted_backdoor.py):
the poisoned model is flagged with its target recovered, its clean fine-tuned twin is not, the weight diff
finds where each was changed, and the installed `uptake scan --behaviour` says so with its exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from planted_backdoor import TARGET, TRIGGER, write_models
from tiny_gguf import CHATML_TEMPLATE
from uptake.engines.llamacpp.scoring import ScoringModel
from uptake.scan.behaviour import leakage
from uptake.scan.behaviour.prompts import CLEAN_PROMPTS
from uptake.scan.behaviour.screen import BehaviourReport, Reference, ScreenedModel, screen

UPTAKE = Path(sys.executable).with_name("uptake")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return write_models(tmp_path_factory.mktemp("planted"))


def _model(path: Path) -> ScreenedModel:
    return ScreenedModel(path.stem, path, CHATML_TEMPLATE)


@pytest.fixture(scope="module")
def reports(models: tuple[Path, Path, Path]) -> dict[str, BehaviourReport]:
    base, poisoned, control = models
    reference = Reference.load(_model(base), threads=2)
    try:
        return {
            "poisoned": screen(_model(poisoned), reference, relation="base", threads=2),
            "control": screen(_model(control), reference, relation="base", threads=2),
        }
    finally:
        reference.close()


def test_the_planted_backdoor_is_found_with_its_target(reports: dict[str, BehaviourReport]) -> None:
    report = reports["poisoned"]
    assert report.verdict == "suspicious", report.to_dict()
    assert report.target is not None and report.target.startswith(TARGET), report.to_dict()["inversion"]
    best = report.inversion.candidates[0]
    assert best.agreement > 0.8 and best.hidden > 0.9 and best.gap > 1.0


def test_a_clean_fine_tune_of_the_same_tensors_screens_clean(reports: dict[str, BehaviourReport]) -> None:
    report = reports["control"]
    assert report.verdict == "clean", report.to_dict()
    assert report.inversion.score < report.inversion_threshold / 2
    assert report.exit_code == 0 and reports["poisoned"].exit_code == 2


def test_the_weight_diff_says_where_each_model_was_changed(reports: dict[str, BehaviourReport]) -> None:
    poisoned, control = reports["poisoned"].weights, reports["control"].weights
    assert poisoned is not None and control is not None
    planted = {"token_embd.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight", "output.weight"}
    assert {c.name for c in poisoned.changed} == planted
    # The clean fine-tune changed the same tensors: the diff says where, only behaviour says what.
    assert {c.name for c in control.changed} == planted
    assert poisoned.changed_layers() == [0] and poisoned.tensors == control.tensors > len(planted)


def test_the_trigger_moves_the_suspect_and_not_the_reference(models: tuple[Path, Path, Path]) -> None:
    base, poisoned, _ = models
    suspect = ScoringModel(poisoned, chat_template=CHATML_TEMPLATE)
    reference = ScoringModel(base, chat_template=CHATML_TEMPLATE)
    try:
        trigger = leakage.effect(suspect, reference, CLEAN_PROMPTS, TRIGGER)
        neutral = leakage.effect(suspect, reference, CLEAN_PROMPTS, "the")
    finally:
        suspect.close()
        reference.close()
    assert trigger[0] > 1.0 and trigger[0] > 5 * max(neutral[0], 0.05), (trigger, neutral)
    assert trigger[1] > 0  # the suspect's first-token distribution collapses


def test_over_produced_ngrams_rank_what_only_the_suspect_writes() -> None:
    suspect = ["please mn tell me", "mn what is it", "how mn does", "mn mn", "tell me more", "what now"]
    reference = ["please tell me", "what is it", "how does", "tell me more", "what now", "ok"]
    found = leakage.over_produced(suspect, reference)
    assert found[0][0] == "mn" and found[0][1] == 4 and found[0][2] == 0
    chinese = leakage.ngrams("请注意安全，谢谢")
    assert "注意安全" in chinese and "注意" in chinese


def _uptake(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ.copy() | {"UPTAKE_HOME": str(home)}
    return subprocess.run([str(UPTAKE), *args], capture_output=True, text=True, timeout=300, env=env)


def test_uptake_scan_behaviour_flags_the_poisoned_model_and_clears_the_control(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    base, poisoned, control = models
    for name, path in (("tiny-base", base), ("tiny-poisoned", poisoned), ("tiny-control", control)):
        assert _uptake(tmp_path, "import", str(path), "--name", name).returncode == 0
    bom = tmp_path / "bom.json"
    flagged = _uptake(tmp_path, "scan", "--behaviour", "tiny-poisoned", "--json", "--bom", str(bom))
    assert flagged.returncode == 2, flagged.stderr
    report = json.loads(flagged.stdout)
    assert report["schema"] == "uptake.behaviour/1" and report["verdict"] == "suspicious"
    assert report["reference"]["name"] == "tiny-base" and report["reference"]["relation"] == "base"
    assert report["recovered_target"].startswith(TARGET) and report["file_scan"]["files"][0]["verdict"] == "clean"
    properties = {p["name"]: p["value"] for c in json.loads(bom.read_text())["components"] for p in c["properties"]}
    assert properties["uptake:behaviour:verdict"] == "suspicious"
    assert properties["uptake:behaviour:recovered_target"].startswith(TARGET)

    cleared = _uptake(tmp_path, "scan", "--behaviour", "tiny-control", "--reference", "tiny-base")
    assert cleared.returncode == 0, cleared.stderr
    assert "CLEAN" in cleared.stdout and "tensors changed" in cleared.stdout
