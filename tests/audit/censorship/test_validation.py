"""The labelled development set, the shipped classifier weights, and the agreement measures."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import opencc
import pytest

from uptake.audit.censorship.agreement import agreement, cohen_kappa
from uptake.audit.censorship.classifier_model import load_model, parse_model
from uptake.audit.censorship.classify import RuleClassifier
from uptake.audit.censorship.features import extract
from uptake.audit.censorship.fitting import Matrix, build_matrix, expected_calibration_error, fit_calibration, train
from uptake.audit.censorship.labels import LABELS
from uptake.audit.censorship.language import detect_language, is_language_switch
from uptake.audit.censorship.probes import LANGS, load_probe_set
from uptake.audit.censorship.validation import FAMILIES, load_validation_set, validation_dir
from uptake.errors import UptakeError

ROOT = Path(__file__).resolve().parents[3]
CASES = load_validation_set()
PROBES = load_probe_set()


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    """The development set's feature rows, computed once for the tests that refit the weights."""
    return build_matrix(CASES)


def test_the_set_is_large_and_covers_every_language_label_and_family() -> None:
    assert len(CASES) >= 600
    assert {case.lang for case in CASES} == set(LANGS)
    for lang in LANGS:
        assert {case.label for case in CASES if case.lang == lang} == set(LABELS), lang
    families = Counter(case.family for case in CASES)
    assert set(families) == set(FAMILIES), "every case has a known style family, and every family has cases"
    assert min(families.values()) >= 20
    assert all(case.rule[:1] in "1234" and case.origin for case in CASES)
    written = [case for case in CASES if case.origin.startswith("written:")]
    real = [case for case in CASES if case.origin.startswith("model:")]
    assert len(written) >= 300 and len(real) >= 300


def test_gold_language_switch_flags_match_the_responses() -> None:
    # The project's own edge cases were written to test the detector; devset rows were flagged by reading.
    for case in CASES:
        if case.origin == "written":
            assert is_language_switch(case.lang, detect_language(case.response)) == case.lang_switch, case.id


def test_features_do_not_depend_on_the_chinese_script() -> None:
    to_traditional, to_simplified = opencc.OpenCC("s2t"), opencc.OpenCC("t2s")
    chinese = [case for case in CASES if case.lang != "en"][:300]
    for case in chinese:
        facts = PROBES.get(case.probe_id).facts if case.probe_id else None
        simplified = extract(to_simplified.convert(case.prompt), to_simplified.convert(case.response), facts)
        traditional = extract(to_traditional.convert(case.prompt), to_traditional.convert(case.response), facts)
        assert simplified == traditional, case.id


def test_the_shipped_weights_fit_the_whole_set() -> None:
    # Fitted on these cases, so this is no measure of generalisation (benchmarks/classifier_validation.py
    # holds style families out); it fails when the weights and the features drift apart.
    predicted = RuleClassifier().classify_many([case.request(PROBES) for case in CASES])
    scores = agreement([case.label for case in CASES], [result.label for result in predicted], LABELS)
    assert scores.kappa >= 0.75
    assert scores.per_class["refused"].recall >= 0.9


@pytest.mark.parametrize("family", ["lecture", "no-knowledge", "point-elsewhere", "topic-change", "explicit-late",
                                    "refusal-then-essay", "persona-refusal", "official-framing", "wrong-answer"])
def test_a_style_family_left_out_of_fitting_is_still_recognised(family: str, matrix: Matrix) -> None:
    families = np.array([CASES[i].family for i in matrix.case])
    held_out = families == family
    model = train(matrix, families, ~held_out)
    rows = held_out & matrix.with_facts
    predicted = model.probabilities(matrix.x[rows]).argmax(axis=1)
    recall = float((predicted == matrix.y[rows]).mean())
    assert recall >= 0.7, f"{family}: {recall:.2f} of its responses get their label"


def test_a_model_left_out_of_fitting_is_still_labelled(matrix: Matrix) -> None:
    # gemma3:270m's real outputs (mostly loops echoing the question and its system prompt): a weakly
    # regularised fit (C = 1) without them labelled 19% of them right; the shipped regularisation, 84%.
    families = np.array([CASES[i].family for i in matrix.case])
    held_out = np.array([CASES[i].origin.startswith("model:gemma3:270m") for i in matrix.case])
    assert held_out.sum() > 100
    model = train(matrix, families, ~held_out)
    rows = held_out & matrix.with_facts
    accuracy = float((model.probabilities(matrix.x[rows]).argmax(axis=1) == matrix.y[rows]).mean())
    assert accuracy >= 0.75, f"{accuracy:.2f} of gemma3:270m's responses get their label"


def test_the_second_labelling_names_cases_of_the_set_with_known_labels() -> None:
    text = validation_dir().joinpath("agreement", "second_labelling.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines()]
    ids = {case.id for case in CASES}
    assert len(rows) >= 200 and len({row["id"] for row in rows}) == len(rows)
    assert all(row["id"] in ids and row["label"] in LABELS for row in rows)


def test_the_hand_labelled_audit_outputs_are_outside_the_development_set() -> None:
    text = validation_dir().joinpath("agreement", "audit_outputs.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines()]
    responses = {case.response.strip() for case in CASES}
    assert len(rows) >= 50 and len({row["id"] for row in rows}) == len(rows)
    assert all(row["label"] in LABELS and row["lang"] in LANGS for row in rows)
    assert all(PROBES.get(row["probe_id"]).prompt(row["lang"]) == row["prompt"] for row in rows)
    assert not any(row["response"].strip() in responses for row in rows)


def test_the_shipped_weights_are_what_the_training_script_makes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train_refusal_classifier.py"), "--check"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_confidence_map_is_monotone_and_a_probability() -> None:
    model = load_model()
    values = [model.confidence(p / 100) for p in range(25, 101)]
    assert all(0.0 < value <= 1.0 for value in values)
    assert values == sorted(values)


def test_calibration_curve_maps_probability_to_how_often_right() -> None:
    rng = np.random.default_rng(7)
    raw = rng.uniform(0.3, 1.0, 4000)
    weight = np.ones(len(raw))
    honest = fit_calibration(raw, rng.uniform(size=len(raw)) < raw, weight)  # right as often as it says
    assert list(honest[0]) == sorted(honest[0]) and list(honest[1]) == sorted(honest[1])
    for p in (0.4, 0.6, 0.9):
        assert abs(float(np.interp(p, *honest)) - p) < 0.05
    overconfident = fit_calibration(raw, rng.uniform(size=len(raw)) < 0.5 * raw, weight)
    assert float(np.interp(0.9, *overconfident)) < 0.6
    falling = fit_calibration(raw, raw < 0.6, weight)  # no calibration to be had: the overall rate everywhere
    assert max(falling[1]) == min(falling[1]) == pytest.approx(float((raw < 0.6).mean()))


def test_weights_for_other_features_are_refused() -> None:
    with pytest.raises(UptakeError, match="refit"):
        parse_model({"features": ["something_else"], "labels": list(LABELS), "coef": [], "intercept": []})


def test_expected_calibration_error_hand_computed() -> None:
    # Bin (0.8, 0.9]: confidence 0.85 twice, one right: |0.5 - 0.85| * 2/4; bin (0.9, 1.0]: 0.95 twice,
    # both right: |1 - 0.95| * 2/4. ECE = 0.175 + 0.025 = 0.2.
    confidence = np.array([0.85, 0.85, 0.95, 0.95])
    correct = np.array([True, False, True, True])
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.2)


def test_cohen_kappa_hand_computed() -> None:
    # 10 items, 8 agree: observed 0.8; both raters say "a" 6 times and "b" 4 times,
    # so chance = (6*6 + 4*4) / 100 = 0.52 and kappa = (0.8 - 0.52) / (1 - 0.52) = 7/12.
    gold = ["a"] * 6 + ["b"] * 4
    predicted = ["a"] * 5 + ["b"] + ["b"] * 3 + ["a"]
    assert cohen_kappa(gold, predicted) == pytest.approx(7 / 12)
    assert cohen_kappa(["a", "a"], ["a", "a"]) == 1.0


def test_per_class_precision_and_recall() -> None:
    scores = agreement(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b"])
    assert scores.accuracy == 0.75
    assert (scores.per_class["a"].precision, scores.per_class["a"].recall) == (1.0, 0.5)
    assert scores.per_class["b"].precision == pytest.approx(2 / 3) and scores.per_class["b"].recall == 1.0
    assert scores.confusion["a"] == {"a": 1, "b": 1}
