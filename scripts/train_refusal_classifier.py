"""Fit the censorship audit's response classifier and write its weights as data.

    .venv/bin/python scripts/train_refusal_classifier.py [--check]

Reads the development set (src/uptake/audit/censorship/validation/: GUIDELINES.md, the written
cases, real model outputs and devset/*.jsonl), fits the logistic weights over the structural
features and the confidence calibration (uptake.audit.censorship.fitting; needs scikit-learn,
in the `dev` extra) and writes src/uptake/audit/censorship/model/refusal_classifier.json.
Deterministic: the same data and library versions give the same weights, up to the last digits a
CPU's floating-point kernels decide (fits on two x86 machines differed by about 1e-6). `--check`
writes nothing and exits 1 when the shipped file differs from what the data gives by more than that:
every text, count and version equal, every number within TOLERANCE.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from collections import Counter
from importlib import resources
from pathlib import Path

import numpy as np

from uptake.audit.censorship.classifier_model import MODEL_FILE
from uptake.audit.censorship.fitting import C, build_matrix, train
from uptake.audit.censorship.validation import load_validation_set, validation_dir

TARGET = Path(str(resources.files("uptake.audit.censorship").joinpath("model", MODEL_FILE)))
TOLERANCE = 1e-4  # absolute, on weights of order 1; far below what moves a label, far above CPU noise


def same_fit(shipped: object, made: object) -> bool:
    """Equal structure, strings and integers; floats within TOLERANCE of each other."""
    if isinstance(shipped, float) or isinstance(made, float):
        return isinstance(shipped, int | float) and isinstance(made, int | float) and abs(shipped - made) <= TOLERANCE
    if isinstance(shipped, dict) and isinstance(made, dict):
        return shipped.keys() == made.keys() and all(same_fit(shipped[key], made[key]) for key in shipped)
    if isinstance(shipped, list) and isinstance(made, list):
        return len(shipped) == len(made) and all(same_fit(a, b) for a, b in zip(shipped, made, strict=True))
    return shipped == made


def data_digest() -> str:
    """sha256 over the development set's files, in name order."""
    digest = hashlib.sha256()
    root = validation_dir()
    entries = [entry for entry in root.iterdir() if entry.is_file()]
    devset = root.joinpath("devset")
    if devset.is_dir():
        entries += [entry for entry in devset.iterdir() if entry.name.endswith(".jsonl")]
    for entry in sorted(entries, key=lambda e: e.name):
        digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()


def build() -> dict[str, object]:
    import sklearn

    cases = load_validation_set()
    matrix = build_matrix(cases)
    families = np.array([cases[i].family for i in matrix.case])
    weights = train(matrix, families)
    return {
        **weights.as_dict(),
        "record": {
            "what": "multinomial logistic regression over uptake.audit.censorship.features, standardisation "
            "folded into the weights, balanced class weights, C fixed (chosen on held-out style families); the top "
            "probability calibrated on leave-one-style-family-out predictions (5 bins of equal size, their rates "
            "of right answers made monotone, linear between)",
            "data_sha256": data_digest(),
            "cases": len(cases),
            "labels": dict(sorted(Counter(case.label for case in cases).items())),
            "families": len(set(families)),
            "C": C,
            "scikit_learn": sklearn.__version__,
            "numpy": np.__version__,
            "script": "scripts/train_refusal_classifier.py",
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the shipped file; write nothing")
    args = parser.parse_args(argv)
    made = build()
    text = json.dumps(made, indent=1, ensure_ascii=False) + "\n"
    if args.check:
        same = TARGET.is_file() and same_fit(json.loads(TARGET.read_text(encoding="utf-8")), made)
        print("the shipped weights match the data" if same else f"{TARGET} differs from what the data gives")
        return 0 if same else 1
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=TARGET.parent, suffix=".partial")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, TARGET)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
