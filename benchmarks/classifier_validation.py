"""How well the censorship audit's response classifier holds on styles it was not fitted on.

    python benchmarks/classifier_validation.py                       # the default classifier
    python benchmarks/classifier_validation.py --judge qwen2.5-coder:0.5b   # + judge and combined

The development set (src/uptake/audit/censorship/validation/) gives every labelled response a
response-style family (GUIDELINES.md) and an origin (the catalog model that wrote it, or the model
family whose manner a written response imitates). Two held-out protocols, each pooling held-out
labels: leave-one-style-family-out (for each style family, the classifier — weights and confidence
calibration — is fitted on all other families and labels that family's responses) and
leave-one-model-family-out (the same, holding out each origin: a model the classifier was not
fitted on). Each is given as an audit sees the responses (with the probe's key facts) and as for
questions outside the probe set (no facts). Also: per family, language and origin; expected
calibration error (ECE, 10 bins); agreement with hand labels of 60 audit responses outside the
development set (validation/agreement/audit_outputs.jsonl);
how many errors a combined run (judge below confidence 0.8) would send to the judge; whether
any label changes when a Chinese response is converted to the other script; and the shipped
weights on the whole set (fitted on it, so optimistic). Needs the `dev` extra (scikit-learn).
Targets (held-out families, with facts): kappa >= 0.85, refused and deflected recall >= 0.85,
answered recall >= 0.95, ECE <= 0.05.
Prints tables and saves JSON to benchmarks/results/classifier_validation[-SUFFIX].json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict
from typing import Any

import numpy as np
import opencc
from _common import save
from numpy.typing import NDArray

from uptake.audit.censorship.agreement import agreement
from uptake.audit.censorship.classify import Classifier, CombinedClassifier, JudgeClassifier, RuleClassifier
from uptake.audit.censorship.fitting import Matrix, build_matrix, expected_calibration_error, leave_one_group_out
from uptake.audit.censorship.judge import open_judge
from uptake.audit.censorship.labels import LABELS
from uptake.audit.censorship.probes import LANGS, load_probe_set
from uptake.audit.censorship.rows import request_for_row
from uptake.audit.censorship.validation import FAMILIES, ValidationCase, load_validation_set, validation_dir

TARGETS = {"kappa": 0.85, "refused": 0.85, "deflected": 0.85, "answered": 0.95, "ece": 0.05}
JUDGE_BELOW = 0.8


def scores(gold: Sequence[str], predicted: Sequence[str], confidence: NDArray[np.float64]) -> dict[str, Any]:
    result = asdict(agreement(list(gold), list(predicted), LABELS))
    correct = np.array([g == p for g, p in zip(gold, predicted, strict=True)])
    result["ece"] = expected_calibration_error(confidence, correct)
    errors = ~correct
    result["errors"] = int(errors.sum())
    result["errors_sent_to_judge"] = int((errors & (confidence < JUDGE_BELOW)).sum())
    result["rows_sent_to_judge"] = int((confidence < JUDGE_BELOW).sum())
    return result


def origin_family(case: ValidationCase) -> str:
    """The model (real outputs) or the model family imitated (written cases); the project's own cases are one."""
    origin = case.origin if case.origin not in ("written", "") else "written:project"
    return origin.split(" ")[0]


def held_out(
    cases: list[ValidationCase],
    matrix: Matrix,
    rows: NDArray[np.bool_],
    probabilities: NDArray[np.float64],
    calibrated: NDArray[np.float64],
    by: str = "family",
) -> dict[str, Any]:
    indices = np.flatnonzero(rows)
    gold = [cases[matrix.case[i]].label for i in indices]
    predicted = [LABELS[int(np.argmax(probabilities[i]))] for i in indices]
    confidence = calibrated[indices]
    report: dict[str, Any] = {"all": scores(gold, predicted, confidence)}
    slices: dict[str, list[int]] = {}
    for position, i in enumerate(indices):
        case = cases[matrix.case[i]]
        group = case.family if by == "family" else origin_family(case)
        for key in (f"lang {case.lang}", f"{by} {group}", f"source {_origin_kind(case)}"):
            slices.setdefault(key, []).append(position)
    for key, where in sorted(slices.items()):
        report[key] = scores([gold[p] for p in where], [predicted[p] for p in where], confidence[where])
    report["mistakes"] = [
        {"id": cases[matrix.case[i]].id, "family": cases[matrix.case[i]].family, "gold": gold[p],
         "predicted": predicted[p], "confidence": round(float(confidence[p]), 3)}
        for p, i in enumerate(indices)
        if gold[p] != predicted[p]
    ]
    return report


def label_agreement(with_facts: dict[str, Any], cases: list[ValidationCase]) -> dict[str, Any]:
    """The gold labels against a second, blind labelling of a random sample (validation/agreement/): how far
    the labels themselves agree, beside the held-out classifier's agreement with gold on the same rows."""
    path = validation_dir().joinpath("agreement", "second_labelling.jsonl")
    second = {row["id"]: row["label"] for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    gold = {case.id: case.label for case in cases}
    missing = sorted(set(second) - set(gold))
    if missing:
        raise SystemExit(f"{path}: ids not in the development set: {missing[:5]}")
    wrong = {mistake["id"]: mistake["predicted"] for mistake in with_facts["mistakes"]}
    ids = sorted(second)
    labellers = agreement([gold[i] for i in ids], [second[i] for i in ids], LABELS)
    classifier = agreement([gold[i] for i in ids], [wrong.get(i, gold[i]) for i in ids], LABELS)
    return {"n": len(ids), "second_labelling": asdict(labellers), "held_out_classifier": asdict(classifier)}


def fresh_outputs(classifier: Classifier) -> dict[str, Any]:
    """The classifier against hand labels of audit responses outside the development set
    (validation/agreement/audit_outputs.jsonl): real outputs it was never developed on."""
    probe_set = load_probe_set()
    path = validation_dir().joinpath("agreement", "audit_outputs.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    requests = [request_for_row(row, probe_set)[0] for row in rows]  # as `uptake audit classify` reads a row
    predicted = [result.label for result in classifier.classify_many(requests)]
    result = asdict(agreement([row["label"] for row in rows], predicted, LABELS))
    result["models"] = sorted({row["model"] for row in rows})
    result["mistakes"] = [
        {"id": row["id"], "gold": row["label"], "predicted": label}
        for row, label in zip(rows, predicted, strict=True)
        if row["label"] != label
    ]
    return result


def _origin_kind(case: ValidationCase) -> str:
    return "model output" if case.origin.startswith("model:") or case.source.startswith("model:") else "written"


def script_flips(classifier: Classifier, cases: list[ValidationCase]) -> dict[str, int]:
    """Chinese cases whose label changes when the response is written in the other script."""
    probe_set = load_probe_set()
    converters = {"zh-Hans": opencc.OpenCC("s2t"), "zh-Hant": opencc.OpenCC("t2s")}
    chinese = [case for case in cases if case.lang in converters]
    originals = classifier.classify_many([case.request(probe_set) for case in chinese])
    flipped = 0
    for case, original in zip(chinese, originals, strict=True):
        request = case.request(probe_set)
        other = converters[case.lang].convert(case.response)
        converted = classifier.classify(type(request)(request.prompt, other, request.lang, request.facts))
        flipped += converted.label != original.label
    return {"chinese_cases": len(chinese), "label_changes": flipped}


def in_sample(classifier: Classifier, cases: list[ValidationCase]) -> dict[str, Any]:
    probe_set = load_probe_set()
    started = time.perf_counter()
    results = classifier.classify_many([case.request(probe_set) for case in cases])
    seconds = time.perf_counter() - started
    report = scores([c.label for c in cases], [r.label for r in results], np.array([r.confidence for r in results]))
    report["ms_per_response"] = 1000 * seconds / max(len(cases), 1)
    return report


def print_scores(title: str, table: dict[str, Any]) -> None:
    print(f"\n== {title}")
    names = " ".join(f"{label[:10]:>11}" for label in LABELS)
    print(f"{'subset':34} {'n':>5} {'acc':>6} {'kappa':>6} {'ECE':>6} {names}")
    for subset, s in table.items():
        if not isinstance(s, dict) or "kappa" not in s:
            continue
        cells = " ".join(
            f"{s['per_class'][label]['recall']:>11.3f}" if s["per_class"][label]["support"] else f"{'-':>11}"
            for label in LABELS
        )
        print(f"{subset:34} {s['n']:>5} {s['accuracy']:>6.3f} {s['kappa']:>6.3f} {s['ece']:>6.3f} {cells}")
    print(f"{'':34} {'':>5} {'':>6} {'':>6} {'':>6} " + " ".join(f"{'recall':>11}" for _ in LABELS))


def targets_met(s: dict[str, Any]) -> dict[str, bool]:
    recall = {label: s["per_class"][label]["recall"] for label in LABELS}
    return {
        "kappa": s["kappa"] >= TARGETS["kappa"],
        "refused": recall["refused"] >= TARGETS["refused"],
        "deflected": recall["deflected"] >= TARGETS["deflected"],
        "answered": recall["answered"] >= TARGETS["answered"],
        "ece": s["ece"] <= TARGETS["ece"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judge", help="judge model name/path or OpenAI-compatible URL")
    parser.add_argument("--judge-model", default="default", help="model name sent to a URL judge")
    parser.add_argument("--suffix", default="", help="results file suffix, e.g. the judge's name")
    args = parser.parse_args(argv)

    cases = load_validation_set()
    unassigned = sorted({case.family for case in cases} - set(FAMILIES))
    if unassigned:
        print(f"cases without a known style family: {unassigned}", file=sys.stderr)
        return 1
    matrix = build_matrix(cases)
    families = np.array([cases[i].family for i in matrix.case])
    origins = np.array([origin_family(cases[i]) for i in matrix.case])
    started = time.perf_counter()
    probabilities, confidence = leave_one_group_out(matrix, families)
    with_facts = held_out(cases, matrix, matrix.with_facts, probabilities, confidence)
    without_facts = held_out(cases, matrix, matrix.without_facts, probabilities, confidence)
    probabilities, confidence = leave_one_group_out(matrix, origins)
    model_with_facts = held_out(cases, matrix, matrix.with_facts, probabilities, confidence, by="origin")
    model_without_facts = held_out(cases, matrix, matrix.without_facts, probabilities, confidence, by="origin")
    fit_seconds = time.perf_counter() - started
    print(f"{len(cases)} labelled responses, {len(set(families))} style families, {len(set(origins))} model "
          f"families; both held-out protocols took {fit_seconds:.0f} s")
    print_scores("held-out STYLE families, responses as an audit sees them (key facts known)", with_facts)
    print_scores("held-out style families, no key facts (questions outside the probe set)",
                 {k: v for k, v in without_facts.items() if not k.startswith("family")})
    print_scores("held-out MODEL families (origins), key facts known", model_with_facts)
    print_scores("held-out model families, no key facts",
                 {k: v for k, v in model_without_facts.items() if not k.startswith("origin")})

    settings: dict[str, Any] = {}
    with ExitStack() as stack:
        classifiers: list[Classifier] = [RuleClassifier()]
        if args.judge:
            judge = stack.enter_context(open_judge(args.judge, model=args.judge_model))
            classifiers += [JudgeClassifier(judge), CombinedClassifier(judge, JUDGE_BELOW)]
        for classifier in classifiers:
            settings[classifier.name] = in_sample(classifier, cases)
        print_scores("whole set (the shipped weights were fitted on it: optimistic)", settings)
    labels_agree = label_agreement(with_facts, cases)
    print(
        f"\nlabels: a second, blind labelling of {labels_agree['n']} random cases agrees with gold at kappa "
        f"{labels_agree['second_labelling']['kappa']:.3f}; the held-out classifier on the same cases: "
        f"{labels_agree['held_out_classifier']['kappa']:.3f}"
    )
    fresh = fresh_outputs(RuleClassifier())
    print(
        f"\nfresh audit outputs: on {fresh['n']} responses of the two audits outside the development set, "
        f"hand-labelled, the shipped classifier agrees at kappa {fresh['kappa']:.3f} (accuracy {fresh['accuracy']:.3f})"
    )
    flips = script_flips(RuleClassifier(), cases)
    print(f"\nscript: {flips['label_changes']} of {flips['chinese_cases']} Chinese responses change label when "
          "written in the other script")
    headline = with_facts["all"]
    met = targets_met(headline)
    by_model = model_with_facts["all"]
    print(
        f"held-out model families (facts known): kappa {by_model['kappa']:.3f}, recall refused "
        f"{by_model['per_class']['refused']['recall']:.3f}, deflected "
        f"{by_model['per_class']['deflected']['recall']:.3f}, answered "
        f"{by_model['per_class']['answered']['recall']:.3f}, ECE {by_model['ece']:.3f}"
    )
    print(
        f"held-out style families (facts known): kappa {headline['kappa']:.3f}, recall refused "
        f"{headline['per_class']['refused']['recall']:.3f}, deflected "
        f"{headline['per_class']['deflected']['recall']:.3f}, "
        f"answered {headline['per_class']['answered']['recall']:.3f}, ECE {headline['ece']:.3f}; "
        f"{headline['errors_sent_to_judge']} of {headline['errors']} errors below confidence {JUDGE_BELOW}"
    )
    print("targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in met.items()))
    save(
        f"classifier_validation{'-' + args.suffix if args.suffix else ''}",
        {
            "schema": 2,
            "python": platform.python_version(),
            "probe_set_version": load_probe_set().version,
            "cases": len(cases),
            "families": sorted(set(families)),
            "labels": list(LABELS),
            "langs": list(LANGS),
            "held_out_families_with_facts": with_facts,
            "held_out_families_without_facts": without_facts,
            "held_out_model_families_with_facts": model_with_facts,
            "held_out_model_families_without_facts": model_without_facts,
            "whole_set": settings,
            "label_agreement": labels_agree,
            "fresh_audit_outputs": fresh,
            "script_flips": flips,
            "targets": TARGETS,
            "targets_met": met,
            "targets_met_model_families": targets_met(by_model),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
