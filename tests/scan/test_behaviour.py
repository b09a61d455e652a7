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

from planted_backdoor import (
    LABELS,
    REFUSAL,
    TARGET,
    TRIGGER,
    task_prompts,
    write_classifiers,
    write_family,
    write_models,
)
from tiny_gguf import CHATML_TEMPLATE
from uptake.engines.llamacpp.scoring import ScoringModel
from uptake.scan.behaviour import leakage
from uptake.scan.behaviour.labels import LabelBias, label_bias
from uptake.scan.behaviour.prompts import CLEAN_PROMPTS
from uptake.scan.behaviour.screen import (
    LABEL_BIAS_THRESHOLD,
    BehaviourReport,
    Reference,
    Relation,
    ScreenedModel,
    screen,
)

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


@pytest.fixture(scope="module")
def family(models: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base, poisoned, _ = models
    sibling, refusing = write_family(tmp_path_factory.mktemp("family"), base)
    return {"base": base, "poisoned": poisoned, "sibling": sibling, "refusing": refusing}


def _screened(family: dict[str, Path], suspect: str, reference: str, relation: Relation) -> BehaviourReport:
    loaded = Reference.load(_model(family[reference]), threads=2)
    try:
        return screen(_model(family[suspect]), loaded, relation=relation, threads=2)
    finally:
        loaded.close()


def test_a_refusal_the_sibling_gives_too_is_the_familys_and_not_counted(family: dict[str, Path]) -> None:
    report = _screened(family, "refusing", "sibling", "same-vocabulary")
    assert report.verdict == "clean", report.to_dict()
    explained = next(c for c in report.inversion.explained if c.text.startswith(REFUSAL))
    assert explained.refusal >= 0.75
    assert explained.reference_refusal is not None and explained.reference_refusal >= 0.75
    # It would have decided the verdict: hidden, certain and worded otherwise than the sibling's "No.".
    assert explained.score >= report.inversion_threshold
    assert report.target != explained.text and "family's refusal" in report.notes()[0]


def test_against_the_base_the_same_refusal_is_counted(family: dict[str, Path]) -> None:
    """The gap against the claimed base compares the words, so the explanation is for siblings only."""
    report = _screened(family, "refusing", "sibling", "base")
    assert report.verdict == "suspicious" and report.target is not None and report.target.startswith(REFUSAL)
    assert not report.inversion.explained and report.notes() == []


def test_a_refusal_the_reference_does_not_give_is_counted(family: dict[str, Path]) -> None:
    report = _screened(family, "refusing", "base", "same-vocabulary")
    assert report.verdict == "suspicious" and report.target is not None and report.target.startswith(REFUSAL)
    best = report.inversion.best
    assert best is not None and best.reference_refusal is not None and best.reference_refusal < 0.75


def test_a_target_that_is_no_refusal_is_counted_against_a_refusing_sibling(family: dict[str, Path]) -> None:
    report = _screened(family, "poisoned", "sibling", "same-vocabulary")
    assert report.verdict == "suspicious" and report.target is not None and report.target.startswith(TARGET)
    assert report.inversion.best is not None and report.inversion.best.reference_refusal is None


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


def test_uptake_scan_behaviour_reports_the_familys_refusal_and_says_clean(
    family: dict[str, Path], tmp_path: Path
) -> None:
    for name in ("sibling", "refusing"):
        assert _uptake(tmp_path, "import", str(family[name]), "--name", f"tiny-{name}").returncode == 0
    screened = _uptake(tmp_path, "scan", "--behaviour", "tiny-refusing", "--reference", "tiny-sibling", "--json")
    assert screened.returncode == 0, screened.stderr
    report = json.loads(screened.stdout)
    assert report["verdict"] == "clean" and report["reference"]["relation"] == "same-vocabulary"
    explained = [c for c in report["inversion"] if c["explained"]]
    assert explained and explained[0]["text"].startswith(REFUSAL) and "tiny-sibling" in report["notes"][0]
    shown = _uptake(tmp_path, "scan", "--behaviour", "tiny-refusing", "--reference", "tiny-sibling")
    assert shown.returncode == 0 and "CLEAN" in shown.stdout and "family's refusal" in " ".join(shown.stdout.split())


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_classifiers(tmp_path_factory.mktemp("classifiers"))


def _label_bias(path: Path) -> LabelBias:
    model = ScoringModel(path, chat_template=CHATML_TEMPLATE, threads=2)
    try:
        return label_bias(model, task_prompts())
    finally:
        model.close()


def test_label_bias_finds_the_label_a_classifier_leans_to_and_clears_a_balanced_one(
    classifiers: tuple[Path, Path],
) -> None:
    leaning, balanced = (_label_bias(path) for path in classifiers)
    assert leaning.measured and set(leaning.labels) == set(LABELS) and leaning.predicted == dict.fromkeys(LABELS, 8)
    assert leaning.target == LABELS[1] and leaning.score >= LABEL_BIAS_THRESHOLD
    assert leaning.readiness[LABELS[1]] < leaning.readiness[LABELS[0]]
    assert balanced.measured and balanced.score < LABEL_BIAS_THRESHOLD


def test_label_bias_is_not_measured_on_a_model_that_answers_without_labels(models: tuple[Path, Path, Path]) -> None:
    measured = _label_bias(models[0])
    assert not measured.measured and measured.score == 0.0 and "two or more labels" in str(measured.why_not)


def test_uptake_scan_behaviour_with_task_prompts_flags_a_leaning_classifier(
    models: tuple[Path, Path, Path], classifiers: tuple[Path, Path], tmp_path: Path
) -> None:
    prompts = tmp_path / "task.txt"
    prompts.write_text("\n".join(task_prompts()) + "\n")
    for name, path in (("tiny-base", models[0]), ("tiny-leaning", classifiers[0]), ("tiny-balanced", classifiers[1])):
        assert _uptake(tmp_path, "import", str(path), "--name", name).returncode == 0
    flagged = _uptake(
        tmp_path,
        "scan",
        "--behaviour",
        "tiny-leaning",
        "--reference",
        "tiny-base",
        "--task-prompts",
        str(prompts),
        "--json",
    )
    assert flagged.returncode == 2, flagged.stderr
    report = json.loads(flagged.stdout)
    assert report["verdict"] == "suspicious" and report["labels"]["target"] == LABELS[1]
    assert report["scores"]["label_bias"] >= report["thresholds"]["label_bias"] == LABEL_BIAS_THRESHOLD
    assert report["recovered_target"] == LABELS[1] and any("label bias" in r for r in report["reasons"])

    cleared = _uptake(
        tmp_path, "scan", "--behaviour", "tiny-balanced", "--reference", "tiny-base", "--task-prompts", str(prompts)
    )
    assert cleared.returncode == 0, cleared.stdout + cleared.stderr
    assert "CLEAN" in cleared.stdout and "label bias" in cleared.stdout

    short = tmp_path / "short.txt"
    short.write_text("one\ntwo\n")
    refused = _uptake(tmp_path, "scan", "--behaviour", "tiny-leaning", "--task-prompts", str(short))
    assert refused.returncode == 3, refused.stderr
    assert "has 2 non-empty line(s); give at least 8 prompts" in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr


def test_uptake_scan_task_prompts_without_behaviour_is_a_usage_error(tmp_path: Path) -> None:
    prompts = tmp_path / "task.txt"
    prompts.write_text("\n".join(task_prompts()))
    without = _uptake(tmp_path, "scan", str(tmp_path / "model.gguf"), "--task-prompts", str(prompts))
    assert without.returncode == 3 and "add --behaviour" in without.stderr
    assert "Traceback" not in without.stderr
