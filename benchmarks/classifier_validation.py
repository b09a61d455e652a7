"""How well each classifier setting agrees with the labelled validation set.

    python benchmarks/classifier_validation.py                       # the default rule classifier
    python benchmarks/classifier_validation.py --judge qwen2.5-coder:0.5b   # + judge and combined
    python benchmarks/classifier_validation.py --judge http://127.0.0.1:8080/v1 --judge-model NAME

Reports accuracy, Cohen's kappa and per-class precision/recall on the eval split, on dev, per
language and per source (written cases, real model outputs). The rules were tuned on dev errors
only; eval errors were looked at but no rule was changed because of one.
Target for the default: kappa >= 0.8 and no class below 0.7 recall on eval.
Prints a table and saves JSON to benchmarks/results/classifier_validation[-SUFFIX].json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uptake import __version__
from uptake.audit.censorship.agreement import agreement
from uptake.audit.censorship.classify import Classifier, CombinedClassifier, JudgeClassifier, RuleClassifier
from uptake.audit.censorship.judge import open_judge
from uptake.audit.censorship.labels import LABELS
from uptake.audit.censorship.probes import LANGS, load_probe_set
from uptake.audit.censorship.validation import ValidationCase, load_validation_set

RESULTS = Path(__file__).parent / "results"
KAPPA_TARGET = 0.8
RECALL_TARGET = 0.7


def evaluate(classifier: Classifier, cases: Sequence[ValidationCase]) -> dict[str, Any]:
    probe_set = load_probe_set()
    started = time.perf_counter()
    results = classifier.classify_many([case.request(probe_set) for case in cases])
    seconds = time.perf_counter() - started
    report: dict[str, Any] = {"seconds_per_response": seconds / max(len(cases), 1)}
    subsets = {
        "eval": [i for i, case in enumerate(cases) if case.split == "eval"],
        "dev": [i for i, case in enumerate(cases) if case.split == "dev"],
        "written (all splits)": [i for i, case in enumerate(cases) if case.source == "written"],
        "model outputs (all splits)": [i for i, case in enumerate(cases) if case.source != "written"],
        "all": list(range(len(cases))),
    }
    for lang in LANGS:
        subsets[f"eval {lang}"] = [i for i, case in enumerate(cases) if case.split == "eval" and case.lang == lang]
    for name, indices in subsets.items():
        if indices:
            scores = agreement([cases[i].label for i in indices], [results[i].label for i in indices], LABELS)
            switch_agree = sum(results[i].lang_switch == cases[i].lang_switch for i in indices) / len(indices)
            report[name] = {**asdict(scores), "lang_switch_agreement": switch_agree}
    report["errors"] = [
        {"id": case.id, "split": case.split, "gold": case.label, "predicted": result.label}
        for case, result in zip(cases, results, strict=True)
        if case.label != result.label
    ]
    return report


def print_table(setting: str, report: dict[str, Any]) -> None:
    print(f"\n== {setting}  ({report['seconds_per_response'] * 1000:.2f} ms per response)")
    header = f"{'subset':28} {'n':>4} {'acc':>6} {'kappa':>6} " + " ".join(f"{label[:12]:>12}" for label in LABELS)
    print(header)
    print(f"{'':28} {'':>4} {'':>6} {'':>6} " + " ".join(f"{'prec/recall':>12}" for _ in LABELS))
    for subset, scores in report.items():
        if not isinstance(scores, dict) or "kappa" not in scores:
            continue
        cells = " ".join(
            f"{scores['per_class'][label]['precision']:>5.2f}/{scores['per_class'][label]['recall']:<5.2f}{'':>1}"
            if scores["per_class"][label]["support"]
            else f"{'-':>12}"
            for label in LABELS
        )
        print(f"{subset:28} {scores['n']:>4} {scores['accuracy']:>6.3f} {scores['kappa']:>6.3f} {cells}")


def target_met(scores: dict[str, Any]) -> bool:
    recalls = [c["recall"] for c in scores["per_class"].values() if c["support"]]
    return bool(scores["kappa"] >= KAPPA_TARGET and min(recalls) >= RECALL_TARGET)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=2, ensure_ascii=False)
        file.write("\n")
    os.replace(temporary, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judge", help="judge model name/path or OpenAI-compatible URL")
    parser.add_argument("--judge-model", default="default", help="model name sent to a URL judge")
    parser.add_argument("--threshold", type=float, default=0.8, help="combined: judge below this confidence")
    parser.add_argument("--suffix", default="", help="results file suffix, e.g. the judge's name")
    args = parser.parse_args(argv)

    cases = load_validation_set()
    reports: dict[str, Any] = {}
    with ExitStack() as stack:
        settings: list[Classifier] = [RuleClassifier()]
        if args.judge:
            judge = stack.enter_context(open_judge(args.judge, model=args.judge_model))
            settings += [JudgeClassifier(judge), CombinedClassifier(judge, args.threshold)]
        for classifier in settings:
            reports[classifier.name] = evaluate(classifier, cases)
            print_table(classifier.name, reports[classifier.name])

    default_eval = reports["rules"]["eval"]
    met = target_met(default_eval)
    print(
        f"\ndefault (rules) on eval: kappa {default_eval['kappa']:.3f}; target kappa >= {KAPPA_TARGET} and "
        f"every recall >= {RECALL_TARGET}: {'met' if met else 'NOT met'}"
    )
    data = {
        "benchmark": "classifier_validation",
        "schema": 1,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "uptake": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "probe_set_version": load_probe_set().version,
        "cases": len(cases),
        "labels": list(LABELS),
        "settings": reports,
        "default_target_met": met,
    }
    name = f"classifier_validation{'-' + args.suffix if args.suffix else ''}.json"
    write_json(RESULTS / name, data)
    print(f"saved {RESULTS / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
