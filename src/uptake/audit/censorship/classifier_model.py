"""The shipped response classifier: logistic weights over the structural features, read from JSON.

`model/refusal_classifier.json` is data written by `scripts/train_refusal_classifier.py` from the
development set (validation/); nothing in it is executed or unpickled. Inference is a dot product
and a softmax, in plain Python; the calibration map (numpy's interpolation, as when it was fitted) turns
the top probability into a confidence.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from uptake.audit.censorship.features import FEATURE_NAMES
from uptake.audit.censorship.labels import LABELS, Label
from uptake.errors import UptakeError

MODEL_FILE = "refusal_classifier.json"


@dataclass(frozen=True)
class ClassifierModel:
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]
    calibration_raw: tuple[float, ...]  # calibration map: top probability -> how often the top label is right
    calibration: tuple[float, ...]
    record: dict[str, Any]  # how the weights were made (data hash, counts, versions)

    def probabilities(self, features: dict[str, float]) -> dict[Label, float]:
        values = [features[name] for name in FEATURE_NAMES]
        logits = [
            bias + sum(w * v for w, v in zip(row, values, strict=True))
            for row, bias in zip(self.coef, self.intercept, strict=True)
        ]
        top = max(logits)
        exps = [math.exp(logit - top) for logit in logits]
        total = sum(exps)
        return {label: exp / total for label, exp in zip(LABELS, exps, strict=True)}

    def confidence(self, top_probability: float) -> float:
        """How often the top label is right at this probability, on styles the weights were not fitted on."""
        return float(np.interp(top_probability, self.calibration_raw, self.calibration))


def parse_model(data: dict[str, Any]) -> ClassifierModel:
    if tuple(data.get("features", ())) != FEATURE_NAMES or tuple(data.get("labels", ())) != LABELS:
        raise UptakeError(
            f"{MODEL_FILE} was fitted on other features or labels than this version computes; "
            "refit it with scripts/train_refusal_classifier.py."
        )
    coef = tuple(tuple(float(v) for v in row) for row in data["coef"])
    intercept = tuple(float(v) for v in data["intercept"])
    calibration = data["calibration"]
    raw = tuple(float(v) for v in calibration["raw"])
    calibrated = tuple(float(v) for v in calibration["calibrated"])
    if not raw or len(raw) != len(calibrated) or any(b < a for a, b in itertools.pairwise(raw)):
        raise UptakeError(f"{MODEL_FILE}: the calibration map is empty, uneven or unsorted; refit it.")
    return ClassifierModel(coef, intercept, raw, calibrated, dict(data.get("record", {})))


@cache
def load_model() -> ClassifierModel:
    path = resources.files("uptake.audit.censorship").joinpath("model", MODEL_FILE)
    return parse_model(json.loads(path.read_text(encoding="utf-8")))
