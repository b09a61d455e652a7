"""Per-field scores of predictions against gold, each with a 95% interval.

A row without a valid prediction (an error, or output that failed the schema) is scored as wrong: its
prediction is MISSING. Gold null means "the text does not say"; predicting null then is right.

Intervals: accuracy-like metrics are proportions of rows, so they get Wilson's score interval; macro-F1
and mean set-F1 are not proportions, so they get a percentile bootstrap over rows (2000 resamples, fixed
seed: the same rows give the same interval).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from uptake.apply.checks import label_text
from uptake.apply.spec import FieldSpec, MetricSpec

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
Z95 = 1.959963984540054
NONE_LABEL = "(none)"


class _Missing:
    """The prediction of a row that has none (an error, or output that failed the schema)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Score:
    value: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {"value": round(self.value, 4), "low": round(self.low, 4), "high": round(self.high, 4), "n": self.n}


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson's 95% score interval for a proportion (0, 0 for no rows)."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_score(hits: Sequence[bool]) -> Score:
    successes = sum(hits)
    low, high = wilson(successes, len(hits))
    return Score(successes / len(hits) if hits else 0.0, low, high, len(hits))


def normalize_text(value: Any) -> str | None:
    """Exact match is on meaning-preserving normal forms: NFKC, trimmed, case-folded, whitespace collapsed."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value if isinstance(value, str) else label_text(value))
    return " ".join(text.split()).casefold()


def numeric_hit(predicted: Any, gold: Any, metric: MetricSpec) -> bool:
    if predicted is MISSING:
        return False
    if gold is None or predicted is None:
        return gold is None and predicted is None
    if isinstance(predicted, bool) or not isinstance(predicted, int | float):
        return False
    allowed = metric.tolerance * abs(float(gold)) if metric.relative else metric.tolerance
    return abs(float(predicted) - float(gold)) <= allowed + 1e-12


def labels_of(values: Sequence[Any]) -> list[str | None]:
    """Labels of gold or predicted values: null is NONE_LABEL, a missing prediction is None (no label)."""
    return [None if value is MISSING else NONE_LABEL if value is None else label_text(value) for value in values]


def macro_f1(gold: Sequence[str | None], predicted: Sequence[str | None]) -> float:
    """Mean F1 over the labels present in gold or predictions (a missing prediction, None, is wrong for its
    gold label and counts for no label); null is a label of its own ("(none)")."""
    gold_labels = list(gold)
    labels = {label for label in gold_labels if label is not None} | {label for label in predicted if label is not None}
    if not labels:
        return 0.0
    total = 0.0
    for label in labels:
        true_positive = sum(1 for g, p in zip(gold_labels, predicted, strict=True) if g == label and p == label)
        false_positive = sum(1 for g, p in zip(gold_labels, predicted, strict=True) if g != label and p == label)
        false_negative = sum(1 for g, p in zip(gold_labels, predicted, strict=True) if g == label and p != label)
        denominator = 2 * true_positive + false_positive + false_negative
        total += 2 * true_positive / denominator if denominator else 0.0
    return total / len(labels)


def set_f1(gold: Any, predicted: Any) -> float:
    """F1 of one row's predicted items against its gold items (both empty: 1)."""
    gold_items = {normalize_text(item) for item in gold or ()}
    if predicted is MISSING:
        return 0.0
    if not isinstance(predicted, list):  # null for "none": right when gold has no items
        return 0.0 if gold_items else 1.0
    predicted_items = {normalize_text(item) for item in predicted}
    if not gold_items and not predicted_items:
        return 1.0
    overlap = len(gold_items & predicted_items)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted_items), overlap / len(gold_items)
    return 2 * precision * recall / (precision + recall)


def bootstrap_score(statistic: Any, size: int, point: float) -> Score:
    """`statistic(indices)` over BOOTSTRAP_RESAMPLES resamples of the rows; the 2.5th and 97.5th percentiles."""
    if size == 0:
        return Score(0.0, 0.0, 0.0, 0)
    generator = np.random.default_rng(BOOTSTRAP_SEED)
    values = [statistic(generator.integers(0, size, size)) for _ in range(BOOTSTRAP_RESAMPLES)]
    low, high = np.percentile(values, [2.5, 97.5])
    return Score(point, float(low), float(high), size)


def score_field(field: FieldSpec, metric: MetricSpec, gold: Sequence[Any], predicted: Sequence[Any]) -> Score:
    """One metric of one field over rows (gold and predicted values in the same order)."""
    if metric.metric == "accuracy":
        return proportion_score([label == g for g, label in zip(labels_of(gold), labels_of(predicted), strict=True)])
    if metric.metric == "exact_match":
        return proportion_score([_exact(g, p) for g, p in zip(gold, predicted, strict=True)])
    if metric.metric == "numeric":
        return proportion_score([numeric_hit(p, g, metric) for g, p in zip(gold, predicted, strict=True)])
    if metric.metric == "macro_f1":
        gold_labels, predicted_labels = labels_of(gold), labels_of(predicted)

        def resampled(indices: Any) -> float:
            return macro_f1([gold_labels[i] for i in indices], [predicted_labels[i] for i in indices])

        return bootstrap_score(resampled, len(gold), macro_f1(gold_labels, predicted_labels))
    per_row = np.array([set_f1(g, p) for g, p in zip(gold, predicted, strict=True)], dtype=float)
    return bootstrap_score(lambda indices: float(per_row[indices].mean()), len(per_row),
                           float(per_row.mean()) if len(per_row) else 0.0)


def _exact(gold: Any, predicted: Any) -> bool:
    if predicted is MISSING:
        return False
    if isinstance(gold, list) or isinstance(predicted, list):
        return isinstance(gold, list) and isinstance(predicted, list) and sorted(
            map(str, map(normalize_text, gold))) == sorted(map(str, map(normalize_text, predicted)))
    return normalize_text(gold) == normalize_text(predicted)


def confusion(field: FieldSpec, gold: Sequence[Any], predicted: Sequence[Any]) -> dict[str, Any]:
    """Counts of (gold label, predicted label); null and a missing prediction are both "(none)"."""
    names = [*field.labels, NONE_LABEL]
    index = {name: position for position, name in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    for g, p in zip(labels_of(gold), labels_of(predicted), strict=True):
        row = index.get(g or NONE_LABEL, index[NONE_LABEL])
        column = index.get(p or NONE_LABEL, index[NONE_LABEL])
        matrix[row][column] += 1
    return {"labels": names, "matrix": matrix}
