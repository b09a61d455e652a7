"""Agreement between a classifier and human labels: accuracy, Cohen's kappa, per-class scores.

Written out (a dozen lines) rather than pulling in scikit-learn for three formulas.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Agreement:
    n: int
    accuracy: float
    kappa: float
    per_class: dict[str, ClassScores]
    confusion: dict[str, dict[str, int]]  # gold label -> predicted label -> count


def agreement(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Agreement:
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted labels differ in length")
    n = len(gold)
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    correct = sum(confusion[label][label] for label in labels)
    accuracy = correct / n if n else 0.0
    return Agreement(n, accuracy, cohen_kappa(gold, predicted), _per_class(confusion, labels), confusion)


def cohen_kappa(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """(observed - chance agreement) / (1 - chance agreement); 1.0 when both are constant and equal."""
    n = len(gold)
    if n == 0:
        return 0.0
    observed = sum(g == p for g, p in zip(gold, predicted, strict=True)) / n
    gold_counts, predicted_counts = Counter(gold), Counter(predicted)
    chance = sum(gold_counts[label] * predicted_counts[label] for label in gold_counts) / (n * n)
    if chance == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - chance) / (1.0 - chance)


def _per_class(confusion: dict[str, dict[str, int]], labels: Sequence[str]) -> dict[str, ClassScores]:
    scores = {}
    for label in labels:
        true_positive = confusion[label][label]
        predicted = sum(confusion[g][label] for g in labels)
        support = sum(confusion[label].values())
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = ClassScores(precision, recall, f1, support)
    return scores
