"""Fit the response classifier's weights and measure it on style families it was not fitted on.

Used by `scripts/train_refusal_classifier.py` (which writes the shipped weights) and by
`benchmarks/classifier_validation.py` (which reports the figures). Needs scikit-learn (the `dev`
extra); the audit itself only reads the weights (classifier_model.py), with no extra needed.

The model is a multinomial logistic regression over the structural features (features.py), on
standardised inputs, with balanced class weights and every style family weighing the same (so the
weights learn styles, not the largest family's wording), strongly regularised (see C). Its confidence
(the top probability) is then calibrated on held-out predictions (each style family predicted by a
fit without it; coarse monotone bins, see fit_calibration), so that a confidence of 0.8 is right
about 80% of the time on styles it was not fitted on. Every case whose probe has key facts is seen
twice, with and without them (half weight each), so the classifier also works on questions outside
the probe set.
Fitting is deterministic: lbfgs on a fixed order, no random state involved.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from uptake.audit.censorship.features import FEATURE_NAMES, extract, vector
from uptake.audit.censorship.labels import LABELS
from uptake.audit.censorship.probes import ProbeSet, load_probe_set
from uptake.audit.censorship.validation import ValidationCase

# Inverse regularisation strength. Strong regularisation keeps every feature's weight near its average
# evidence over the training styles, which carries over to styles the fit never saw far better than a fit
# that chases the training families. Chosen on leave-one-style-family-out kappa over 1 ... 1e-5: 0.756 at
# C = 1, 0.773 at 0.1, then a plateau of 0.797-0.807 for every C <= 0.003 (choosing C inside each fold,
# on the other families only, gives 0.795: the plateau is no artefact of the choice). Of the plateau the
# weakest regularisation is kept: its probabilities stay sharpest on unambiguous cues.
C = 0.003
ECE_BINS = 10
CALIBRATION_POINTS = 151  # raw top probabilities 0.25, 0.255, ... 1.0
CALIBRATION_BINS = 5


@dataclass(frozen=True)
class Matrix:
    """Feature rows of the cases; `with_facts` is False for the copies that hide the probe's facts."""

    x: NDArray[np.float64]
    y: NDArray[np.int64]
    weight: NDArray[np.float64]  # a case counts once (its two rows half each)
    fit_weight: NDArray[np.float64]  # the same, divided by the size of the case's style family
    case: NDArray[np.int64]  # index into the cases
    with_facts: NDArray[np.bool_]  # the row an audit sees: facts when the probe has them
    without_facts: NDArray[np.bool_]  # the row a question outside the probe set gives: no facts


def build_matrix(cases: Sequence[ValidationCase], probe_set: ProbeSet | None = None) -> Matrix:
    probes = probe_set or load_probe_set()
    rows: list[list[float]] = []
    labels: list[int] = []
    weights: list[float] = []
    owners: list[int] = []
    flags: list[bool] = []
    bare: list[bool] = []
    family_sizes = Counter(case.family for case in cases)
    for index, case in enumerate(cases):
        facts = probes.get(case.probe_id).facts if case.probe_id is not None else ()
        variants = [(facts, True), (None, False)] if facts else [(None, False)]
        for known, with_facts in variants:
            rows.append(vector(extract(case.prompt, case.response, known)))
            labels.append(LABELS.index(case.label))
            weights.append(1.0 / len(variants))
            owners.append(index)
            flags.append(with_facts or not facts)
            bare.append(known is None)
    weight = np.array(weights, dtype=np.float64)
    per_family = weight / np.array([family_sizes[cases[owner].family] for owner in owners], dtype=np.float64)
    return Matrix(
        np.array(rows, dtype=np.float64),
        np.array(labels, dtype=np.int64),
        weight,
        per_family * weight.sum() / per_family.sum(),
        np.array(owners, dtype=np.int64),
        np.array(flags, dtype=np.bool_),
        np.array(bare, dtype=np.bool_),
    )


Calibration = tuple[tuple[float, ...], tuple[float, ...]]  # raw top probability -> calibrated confidence


@dataclass(frozen=True)
class Weights:
    """Logistic weights on raw features (standardisation folded in) and the confidence calibration map."""

    coef: NDArray[np.float64]  # (classes, features)
    intercept: NDArray[np.float64]  # (classes,)
    calibration: Calibration = ((0.0, 1.0), (0.0, 1.0))

    def logits(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(x @ self.coef.T + self.intercept, dtype=np.float64)

    def probabilities(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return softmax(self.logits(x))

    def confidence(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The calibrated probability that the top label is right."""
        raw = self.probabilities(x).max(axis=1)
        return np.asarray(np.interp(raw, *self.calibration), dtype=np.float64)

    def as_dict(self) -> dict[str, Any]:
        return {
            "features": list(FEATURE_NAMES),
            "labels": list(LABELS),
            "coef": [[round(float(v), 8) for v in row] for row in self.coef],
            "intercept": [round(float(v), 8) for v in self.intercept],
            "calibration": {
                "raw": [round(v, 6) for v in self.calibration[0]],
                "calibrated": [round(v, 6) for v in self.calibration[1]],
            },
        }


def softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)


def fit(matrix: Matrix, rows: NDArray[np.bool_] | None = None) -> Weights:
    """Logistic regression on the chosen rows, with no calibration map yet (train adds it)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    chosen = np.ones(len(matrix.y), dtype=bool) if rows is None else rows
    x, y, w = matrix.x[chosen], matrix.y[chosen], matrix.fit_weight[chosen]
    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    counts = np.bincount(y, weights=w, minlength=len(LABELS))
    balance = np.array([w_i * counts.sum() / (len(LABELS) * max(counts[c], 1e-9)) for w_i, c in zip(w, y, strict=True)])
    model = LogisticRegression(C=C, max_iter=5000, tol=1e-7)
    model.fit((x - scaler.mean_) / scale, y, sample_weight=balance)
    coef = np.zeros((len(LABELS), x.shape[1]))
    intercept = np.full(len(LABELS), -30.0)  # a class absent from the training rows is never predicted
    for row, label in enumerate(model.classes_):
        coef[label] = model.coef_[row] / scale
        intercept[label] = model.intercept_[row] - float(np.sum(model.coef_[row] * scaler.mean_ / scale))
    return Weights(coef, intercept)


def fit_calibration(raw: NDArray[np.float64], correct: NDArray[np.bool_], weight: NDArray[np.float64]) -> Calibration:
    """Map the raw top probability to how often the top label is right on held-out rows: the rows cut into
    CALIBRATION_BINS bins of equal size by raw probability, each bin's rate of right answers made monotone
    (isotonic regression over the bins, weighted by their sizes), linear between the bins' mean raw
    probabilities and flat beyond them; tabulated on CALIBRATION_POINTS raw probabilities.

    Coarse on purpose: a style the fit never saw is often labelled wrong with a high raw probability, so on
    held-out styles the most probable rows are not the most often right, and a curve that follows the raw
    probability up promises too much there. Expected calibration error, leave-one-style-family-out, with
    key facts (benchmarks/classifier_validation.py): 0.022 for a logistic (Platt) curve, 0.019 / 0.018 /
    0.017 / 0.019 for 3 / 5 / 8 / 10 bins; model families held out: 0.020 and 0.022 for 5 bins. With the
    present features the two are alike; part-way through the feature work that gave them, the curve's
    error had reached 0.062 against 0.028 for 5 bins, which is why the bins stay: they cannot promise
    more on the most probable rows than those rows deliver. Few bins keep the confidence informative
    enough for `--mode combined`, which sends the rows below 0.8 to the judge. Falling rates pool into
    one: the overall rate everywhere."""
    from sklearn.isotonic import IsotonicRegression

    floor, ceiling = 1.0 / len(LABELS), 0.999
    xs = np.linspace(floor, 1.0, CALIBRATION_POINTS)
    edges = np.quantile(raw, np.linspace(0.0, 1.0, CALIBRATION_BINS + 1))
    bins = np.clip(np.searchsorted(edges, raw, side="right") - 1, 0, CALIBRATION_BINS - 1)
    centres, rates, sizes = [], [], []
    for index in range(CALIBRATION_BINS):
        inside = (bins == index) & (weight > 0)
        if inside.any():
            centres.append(float(np.average(raw[inside], weights=weight[inside])))
            rates.append(float(np.average(correct[inside], weights=weight[inside])))
            sizes.append(float(weight[inside].sum()))
    monotone = IsotonicRegression(increasing=True).fit_transform(centres, rates, sample_weight=sizes)
    ys = np.clip(np.interp(xs, centres, monotone), floor, ceiling)
    return tuple(float(v) for v in xs), tuple(float(v) for v in ys)


def grouped_probabilities(matrix: Matrix, groups: NDArray[Any], rows: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Held-out probabilities for the chosen rows: each group's rows come from a fit without that group."""
    probabilities = np.zeros((len(matrix.y), len(LABELS)))
    for group in np.unique(groups[rows]):
        held_out = rows & (groups == group)
        probabilities[held_out] = fit(matrix, rows & ~held_out).probabilities(matrix.x[held_out])
    return probabilities


def train(matrix: Matrix, groups: NDArray[Any], rows: NDArray[np.bool_] | None = None) -> Weights:
    """Fit on the chosen rows, with the confidence calibrated on their leave-one-group-out predictions."""
    chosen = np.ones(len(matrix.y), dtype=bool) if rows is None else rows
    weights = fit(matrix, chosen)
    held_out = grouped_probabilities(matrix, groups, chosen)[chosen]
    correct = held_out.argmax(axis=1) == matrix.y[chosen]
    calibration = fit_calibration(held_out.max(axis=1), correct, matrix.weight[chosen])
    return Weights(weights.coef, weights.intercept, calibration)


def leave_one_group_out(matrix: Matrix, groups: NDArray[Any]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Probabilities and calibrated confidence for every row, from a model fitted without the row's group."""
    probabilities = np.zeros((len(matrix.y), len(LABELS)))
    confidence = np.zeros(len(matrix.y))
    for group in np.unique(groups):
        held_out = groups == group
        model = train(matrix, groups, ~held_out)
        probabilities[held_out] = model.probabilities(matrix.x[held_out])
        confidence[held_out] = model.confidence(matrix.x[held_out])
    return probabilities, confidence


def expected_calibration_error(
    confidence: NDArray[np.float64], correct: NDArray[np.bool_], bins: int = ECE_BINS
) -> float:
    """Mean |accuracy − confidence| over equal-width confidence bins, weighted by the bins' sizes."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.sum() / len(confidence) * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)
