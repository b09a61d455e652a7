"""Metrics against values worked out by hand."""

from __future__ import annotations

import pytest

from uptake.apply.metrics import MISSING, confusion, macro_f1, score_field, set_f1, wilson
from uptake.apply.spec import FieldSpec, MetricSpec

CATEGORY = FieldSpec("category", "enum", ("a", "b", "c"), ())


def test_wilson_interval_matches_the_textbook_value() -> None:
    low, high = wilson(8, 10)  # Wilson (1927); e.g. Newcombe (1998) table I: 8/10 -> 0.4902 to 0.9433
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0) == (0.0, 0.0)


def test_accuracy_counts_a_missing_prediction_as_wrong() -> None:
    score = score_field(CATEGORY, MetricSpec(metric="accuracy"), ["a", "a", "b", "b"], ["a", "b", "b", MISSING])
    assert score.value == 0.5 and score.n == 4
    assert score.low == pytest.approx(wilson(2, 4)[0])


def test_macro_f1_by_hand() -> None:
    # a: TP 1, FP 0, FN 1 -> 2/3; b: TP 2, FP 1, FN 0 -> 4/5; c: TP 0, FN 1 -> 0; mean 0.48889
    gold = ["a", "a", "b", "b", "c"]
    predicted = ["a", "b", "b", "b", None]  # None: no prediction
    assert macro_f1(gold, predicted) == pytest.approx((2 / 3 + 4 / 5 + 0) / 3)
    score = score_field(CATEGORY, MetricSpec(metric="macro_f1"), gold, ["a", "b", "b", "b", MISSING])
    assert score.value == pytest.approx(0.488889, abs=1e-6)
    assert 0.0 <= score.low <= score.value <= score.high <= 1.0
    again = score_field(CATEGORY, MetricSpec(metric="macro_f1"), gold, ["a", "b", "b", "b", MISSING])
    assert (again.low, again.high) == (score.low, score.high)  # the bootstrap is seeded


def test_null_is_a_label_and_predicting_it_for_a_null_gold_is_right() -> None:
    field = FieldSpec("location", "string", (), ())
    score = score_field(field, MetricSpec(metric="exact_match"), [None, "Main Road", None], [None, None, MISSING])
    assert score.value == pytest.approx(1 / 3)


def test_exact_match_normalizes_width_case_and_spaces() -> None:
    field = FieldSpec("location", "string", (), ())
    gold = ["Main Road", "人民路", "King Street"]
    predicted = ["  main   ROAD ", "人民路", "Ｋｉｎｇ Street"]  # full-width letters fold under NFKC
    assert score_field(field, MetricSpec(metric="exact_match"), gold, predicted).value == 1.0
    assert score_field(field, MetricSpec(metric="exact_match"), ["Main Road"], ["Main Rd"]).value == 0.0


def test_numeric_within_tolerance_absolute_and_relative() -> None:
    field = FieldSpec("income", "number", (), ())
    absolute = MetricSpec(metric="numeric", tolerance=0.5)
    assert score_field(field, absolute, [100, 100, None, 3], [100.4, 100.6, None, None]).value == 0.5
    relative = MetricSpec(metric="numeric", tolerance=0.1, relative=True)
    assert score_field(field, relative, [1000, 1000], [1090, 1110]).value == 0.5
    assert score_field(field, absolute, [1], [True]).value == 0.0  # a boolean is not a number


def test_set_f1_by_hand() -> None:
    assert set_f1(["x", "y"], ["x", "z"]) == pytest.approx(0.5)
    assert set_f1([], []) == 1.0
    assert set_f1(["x"], MISSING) == 0.0
    assert set_f1([], None) == 1.0
    assert set_f1(["Fever", "cough"], ["fever", "COUGH", "rash"]) == pytest.approx(0.8)  # P 2/3, R 1
    field = FieldSpec("symptoms", "array", (), ())
    score = score_field(field, MetricSpec(metric="set_f1"), [["x", "y"], [], ["x"]], [["x", "z"], [], MISSING])
    assert score.value == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_confusion_matrix_cells() -> None:
    matrix = confusion(CATEGORY, ["a", "a", "b", "c", None], ["a", "b", "b", MISSING, "c"])
    labels = matrix["labels"]
    assert labels == ["a", "b", "c", "(none)"]

    def cell(gold: str, predicted: str) -> int:
        return int(matrix["matrix"][labels.index(gold)][labels.index(predicted)])

    assert cell("a", "a") == 1 and cell("a", "b") == 1 and cell("b", "b") == 1
    assert cell("c", "(none)") == 1 and cell("(none)", "c") == 1
    assert sum(map(sum, matrix["matrix"])) == 5


def test_boolean_labels_compare_as_json_spells_them() -> None:
    field = FieldSpec("urgent", "boolean", ("true", "false"), ())
    assert score_field(field, MetricSpec(metric="accuracy"), [True, False, True], [True, True, MISSING]).value == \
        pytest.approx(1 / 3)
