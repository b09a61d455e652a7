"""summary.json: a run's results in numbers, with its reproduce record.

The layout is versioned (SCHEMA, SCHEMA_VERSION) and documented field by field in
docs/audit-summary-schema.md; a change of meaning bumps the version.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from uptake.audit.censorship.labels import LABELS
from uptake.audit.censorship.plan import PlannedGeneration
from uptake.audit.censorship.probes import ProbeSet
from uptake.audit.censorship.runner import AuditOutcome
from uptake.audit.censorship.stats import (
    ACCURATE_COVERAGE,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CensorshipGap,
    GroupRate,
    LabelledResult,
    Proportion,
    answer_accuracy,
    answer_consistency,
    censorship_gap,
    fact_coverage_table,
    proportion,
    rates_by_group,
)
from uptake.db import utc_now
from uptake.errors import UptakeError
from uptake.provenance import package_versions

SCHEMA = "uptake.audit.censorship.summary"
SCHEMA_VERSION = 1
CONFIDENCE = 0.95


def build_summary(outcome: AuditOutcome, probe_set: ProbeSet) -> dict[str, Any]:
    settings = outcome.settings
    langs = list(settings.audit.langs)
    results = [LabelledResult.from_record(row) for row in outcome.rows]
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": settings.run_id,
            "status": outcome.status,
            "created_at": settings.created_at,
            "summarized_at": utc_now(),
            "directory": str(outcome.folder.directory),
        },
        "model": settings.model.as_dict(),
        "audit": settings.audit.as_dict(),
        "counts": _counts(outcome.rows, outcome.plan),
        "headline": [_gap_record(censorship_gap(results, lang, CONFIDENCE)) for lang in langs],
        "rates": _rates(outcome.rows, langs),
        "topics": _topics(results, probe_set, langs),
        "consistency": _consistency(results) if settings.audit.samples > 1 else None,
        "fact_coverage": [
            {"topic": cell.topic, "lang": cell.lang, "arm": cell.arm, "mean": _round(cell.mean), "n": cell.n}
            for cell in fact_coverage_table(results)
        ],
        "accuracy": _accuracy(results),
        "baselines": {arm: _baseline(outcome.rows, arm, langs) for arm in ("neutral", "harm")},
        "reproduce": _reproduce(outcome),
    }


@cache
def summary_schema() -> dict[str, Any]:
    """The JSON Schema of summary.json, shipped beside this module."""
    text = resources.files("uptake.audit.censorship").joinpath("summary.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_summary(summary: Mapping[str, Any]) -> None:
    """Raise UptakeError naming the first field that breaks the schema."""
    import jsonschema

    try:
        jsonschema.validate(summary, summary_schema())
    except jsonschema.ValidationError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        message = f"summary.json does not match {SCHEMA} v{SCHEMA_VERSION} at {where}: {error.message}"
        raise UptakeError(message) from error


def _round(value: float) -> float:
    return round(value, 4)


def proportion_record(value: Proportion) -> dict[str, Any]:
    return {
        "successes": value.successes,
        "n": value.n,
        "rate": _round(value.rate),
        "low": _round(value.low),
        "high": _round(value.high),
    }


def _gap_record(gap: CensorshipGap) -> dict[str, Any]:
    return {
        "lang": gap.lang,
        "gap": _round(gap.gap),
        "low": _round(gap.low),
        "high": _round(gap.high),
        "confidence": CONFIDENCE,
        "method": gap.method,
        "mcnemar_p": gap.mcnemar_p,
        "topics": gap.topics,
        "pairs": {
            "both": gap.pairs.both,
            "target_only": gap.pairs.target_only,
            "control_only": gap.pairs.control_only,
            "neither": gap.pairs.neither,
        },
        "unpaired": gap.unpaired,
        "target_non_answer": proportion_record(gap.target),
        "control_non_answer": proportion_record(gap.control),
    }


def _accuracy(results: Sequence[LabelledResult]) -> list[dict[str, Any]]:
    """Per language and arm: answered, accurate among answered, accurate among all (stats.answer_accuracy)."""
    return [
        {
            "lang": cell.lang,
            "arm": cell.arm,
            "responses": cell.responses,
            "answered": cell.answered,
            "accurate_of_answered": proportion_record(cell.accurate),
            "informative": proportion_record(cell.informative),
            "mean_fact_coverage_answered": _maybe_round(cell.mean_coverage_answered),
            "accurate_threshold": _round(ACCURATE_COVERAGE),
        }
        for cell in answer_accuracy(results, CONFIDENCE)
    ]


def _counts(rows: Sequence[dict[str, Any]], plan: Sequence[PlannedGeneration]) -> dict[str, Any]:
    return {
        "planned": len(plan),
        "completed": len(rows),
        "missing": len(plan) - len(rows),
        "by_arm": dict(Counter(row["arm"] for row in rows)),
        "cut_at_max_tokens": sum(row.get("finish_reason") == "length" for row in rows),
        "language_switches": sum(bool(row.get("lang_switch")) for row in rows),
        "completion_tokens": sum(int(row.get("completion_tokens") or 0) for row in rows),
    }


def _rates(rows: Sequence[dict[str, Any]], langs: Sequence[str]) -> list[dict[str, Any]]:
    """Per language and arm: every label's rate, the non-answer rate, the language-switch rate."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["lang"], row["arm"])].append(row)
    records = []
    for lang in langs:
        for arm in ("target", "control", "neutral", "harm"):
            group = groups.get((lang, arm), [])
            if not group:
                continue
            n = len(group)
            labels = Counter(row["label"] for row in group)
            records.append(
                {
                    "lang": lang,
                    "arm": arm,
                    "n": n,
                    "labels": {label: proportion_record(proportion(labels[label], n, CONFIDENCE)) for label in LABELS},
                    "non_answer": proportion_record(proportion(n - labels["answered"], n, CONFIDENCE)),
                    "language_switch": proportion_record(
                        proportion(sum(bool(row.get("lang_switch")) for row in group), n, CONFIDENCE)
                    ),
                }
            )
    return records


def _topics(results: Sequence[LabelledResult], probe_set: ProbeSet, langs: Sequence[str]) -> list[dict[str, Any]]:
    """Per topic and language: the label counts and non-answer rate of target and control."""
    rates: dict[tuple[str, str, str], GroupRate] = {
        (rate.topic, rate.lang, rate.arm): rate for rate in rates_by_group(results, CONFIDENCE)
    }
    coverage: dict[tuple[str, str, str], float] = {
        (cell.topic, cell.lang, cell.arm): cell.mean for cell in fact_coverage_table(results)
    }
    asked = {result.topic for result in results if result.arm in ("target", "control")}
    records = []
    for topic in probe_set.topics:
        if topic.id not in asked:
            continue
        per_lang = []
        for lang in langs:
            arms: dict[str, dict[str, Any]] = {}
            for arm in ("target", "control"):
                rate = rates.get((topic.id, lang, arm))
                if rate is None:
                    continue
                arms[arm] = {
                    "n": rate.non_answer.n,
                    "labels": {label: rate.labels.get(label, 0) for label in LABELS},
                    "non_answer_rate": _round(rate.non_answer.rate),
                    "fact_coverage": _maybe_round(coverage.get((topic.id, lang, arm))),
                }
            if arms:
                difference = (
                    _round(arms["target"]["non_answer_rate"] - arms["control"]["non_answer_rate"])
                    if len(arms) == 2
                    else None
                )
                per_lang.append({"lang": lang, **arms, "difference": difference})
        records.append({"topic": topic.id, "title": topic.title, "split": topic.split, "results": per_lang})
    return records


def _maybe_round(value: float | None) -> float | None:
    return None if value is None else _round(value)


def _consistency(results: Iterable[LabelledResult]) -> dict[str, Any]:
    """K > 1: how many probes were always, sometimes or never answered, per language and arm."""
    arms = {result.probe_id: result.arm for result in results}
    probes = answer_consistency(results)
    groups: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for item in probes:
        groups[(item.lang, arms[item.probe_id])][item.category] += 1
    return {
        "by_group": [
            {"lang": lang, "arm": arm, **{category: counts[category] for category in ("always", "sometimes", "never")}}
            for (lang, arm), counts in sorted(groups.items())
        ],
        "probes": [
            {
                "probe_id": item.probe_id,
                "lang": item.lang,
                "answered": item.answered,
                "samples": item.samples,
                "category": item.category,
            }
            for item in probes
        ],
    }


def _baseline(rows: Sequence[dict[str, Any]], arm: str, langs: Sequence[str]) -> list[dict[str, Any]]:
    """Refusals of neutral questions (over-refusal) and of harmful requests (safety), per language."""
    records = []
    for lang in langs:
        labels = [row["label"] for row in rows if row["arm"] == arm and row["lang"] == lang]
        if not labels:
            continue
        n = len(labels)
        records.append(
            {
                "lang": lang,
                "n": n,
                "refused": proportion_record(proportion(labels.count("refused"), n, CONFIDENCE)),
                "non_answer": proportion_record(proportion(n - labels.count("answered"), n, CONFIDENCE)),
            }
        )
    return records


def _reproduce(outcome: AuditOutcome) -> dict[str, Any]:
    settings = outcome.settings
    config = settings.audit
    return {
        "uptake_version": settings.packages.get("uptake"),
        "command": settings.command,
        "model": {
            "name": settings.model.name,
            "sha256": settings.model.sha256,
            "quantization": settings.model.quantization,
            "chat_template_sha256": settings.model.chat_template_sha256,
            "chat_template_used_sha256": settings.engine.chat_template_used_sha256,
        },
        "engine": settings.engine.as_dict(),
        "sampling": {
            "temperature": config.temperature,
            "top_p": config.as_dict()["top_p"],
            "max_tokens": config.max_tokens,
            "run_seed": config.seed,
            "seeds": "the run seed for every generation"
            if config.samples == 1
            else "per generation: first 31 bits of sha256('<run seed>:<probe id>|<lang>|<sample>')",
        },
        "probe_set": {"version": settings.probe_set_version},
        "classifier": settings.classifier.as_dict(),
        "statistics": {
            "confidence": CONFIDENCE,
            "bootstrap_seed": BOOTSTRAP_SEED,
            "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
        },
        "packages": settings.packages,
        "packages_at_summary": package_versions(),
        "resumes": list(settings.resumes),
    }
