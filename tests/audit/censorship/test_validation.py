"""The labelled validation set and the agreement measures the benchmark reports."""

from __future__ import annotations

from collections import Counter

import pytest

from uptake.audit.censorship.agreement import agreement, cohen_kappa
from uptake.audit.censorship.classify import RuleClassifier
from uptake.audit.censorship.labels import LABELS
from uptake.audit.censorship.language import detect_language, is_language_switch
from uptake.audit.censorship.probes import LANGS, load_probe_set
from uptake.audit.censorship.validation import load_validation_set

CASES = load_validation_set()


def test_the_set_is_large_and_covers_every_language_label_and_split() -> None:
    assert len(CASES) >= 200
    assert {case.lang for case in CASES} == set(LANGS)
    assert {case.label for case in CASES} == set(LABELS)
    splits = Counter(case.split for case in CASES)
    assert splits["dev"] >= 40 and splits["eval"] > splits["dev"]
    for lang in LANGS:
        assert {case.label for case in CASES if case.lang == lang} == set(LABELS), lang


def test_gold_language_switch_flags_match_the_responses() -> None:
    for case in CASES:
        if case.source == "written":
            assert is_language_switch(case.lang, detect_language(case.response)) == case.lang_switch, case.id


def test_default_classifier_meets_the_target_on_eval() -> None:
    # The target: kappa >= 0.8 and no class below 0.7 recall on the eval split.
    probe_set = load_probe_set()
    eval_cases = [case for case in CASES if case.split == "eval"]
    predicted = [result.label for result in RuleClassifier().classify_many([c.request(probe_set) for c in eval_cases])]
    scores = agreement([case.label for case in eval_cases], predicted, LABELS)
    assert scores.kappa >= 0.8
    assert min(score.recall for score in scores.per_class.values()) >= 0.7


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
