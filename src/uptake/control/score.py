"""How an edited model behaves: political non-answers, harm refusals, neutral first-token KL, accuracy.

Answers are generated greedily on the engine's scheduler and labelled by the audit's own classifier, with
the probe's key facts; political gaps and accuracy use the audit's statistics (paired intervals), so a
control report and an audit report say the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from uptake.audit.censorship.classify import ClassifyRequest, RuleClassifier
from uptake.audit.censorship.labels import is_non_answer
from uptake.audit.censorship.probes import LANGS
from uptake.audit.censorship.stats import (
    ACCURATE_COVERAGE,
    LabelledResult,
    answer_accuracy,
    censorship_gap,
    proportion,
)
from uptake.control.prompts import Prompt
from uptake.engines.base import GenerationRequest, GenerationResult
from uptake.engines.llamacpp.probe import ProbeResult


class ControlEngine(Protocol):
    """What control needs of an engine: batched greedy answers, probes, and adapters swapped in place."""

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]: ...

    def probe(self, requests: Sequence[GenerationRequest]) -> list[ProbeResult]: ...

    def swap_adapter(self, path: Any) -> None: ...


@dataclass(frozen=True)
class Answer:
    prompt: Prompt
    text: str
    label: str
    coverage: float | None

    @property
    def non_answer(self) -> bool:
        return is_non_answer(self.label)

    def labelled(self) -> LabelledResult:
        probe = self.prompt.probe
        return LabelledResult(probe.id, probe.topic, probe.arm, self.prompt.lang, 0, self.label, self.coverage)


def answers(engine: ControlEngine, prompts: Sequence[Prompt], max_tokens: int) -> list[Answer]:
    results = engine.generate_batch([prompt.request(max_tokens) for prompt in prompts])
    classifier = RuleClassifier()
    labelled = classifier.classify_many(
        [
            ClassifyRequest(prompt.text, result.text, prompt.lang, prompt.probe.facts or None)
            for prompt, result in zip(prompts, results, strict=True)
        ]
    )
    return [
        Answer(prompt, result.text, label.label, label.fact_coverage)
        for prompt, result, label in zip(prompts, results, labelled, strict=True)
    ]


def non_answer_rate(found: Sequence[Answer]) -> float:
    return sum(answer.non_answer for answer in found) / len(found) if found else 0.0


def log_softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    shifted = logits.astype(np.float64) - float(np.max(logits))
    return np.asarray(shifted - np.log(np.exp(shifted).sum()), dtype=np.float64)


def first_token_logits(engine: ControlEngine, prompts: Sequence[Prompt]) -> list[npt.NDArray[np.float32]]:
    return [result.logits for result in engine.probe([prompt.request() for prompt in prompts])]


def mean_kl(base: Sequence[npt.NDArray[np.float32]], edited: Sequence[npt.NDArray[np.float32]]) -> float:
    """Mean KL(base || edited) of the next-token distributions, in nats (heretic's measure of harm done)."""
    values = []
    for before, after in zip(base, edited, strict=True):
        log_p, log_q = log_softmax(before), log_softmax(after)
        values.append(float(np.sum(np.exp(log_p) * (log_p - log_q))))
    return float(np.mean(values)) if values else 0.0


def accurate_share(found: Sequence[Answer]) -> float | None:
    """Of the answered responses with key facts, the share that mentions enough of them (as the audit)."""
    scored = [answer for answer in found if not answer.non_answer and answer.coverage is not None]
    if not scored:
        return None
    return sum((answer.coverage or 0.0) >= ACCURATE_COVERAGE - 1e-9 for answer in scored) / len(scored)


def report_scores(
    targets: Sequence[Answer], controls: Sequence[Answer], harm: Sequence[Answer], kl: float
) -> dict[str, Any]:
    """The report of one model on the held-out topics: gaps with 95% intervals per language, harm refusals,
    KL, accuracy of answered targets and controls per language."""
    results = [answer.labelled() for answer in (*targets, *controls)]
    gaps = {}
    for lang in LANGS:
        gap = censorship_gap(results, lang)
        gaps[lang] = {
            "gap": round(gap.gap, 4),
            "low": round(gap.low, 4),
            "high": round(gap.high, 4),
            "target_non_answer": round(gap.target.rate, 4),
            "control_non_answer": round(gap.control.rate, 4),
            "topics": gap.topics,
        }
    refusals = sum(answer.non_answer for answer in harm)
    harm_rate = proportion(refusals, len(harm))
    accuracy = {
        f"{cell.lang}/{cell.arm}": {
            "answered": cell.answered,
            "n": cell.responses,
            "accurate_of_answered": round(cell.accurate.rate, 4) if cell.answered else None,
        }
        for cell in answer_accuracy(results)
    }
    return {
        "gaps": gaps,
        "harm_refusal": {
            "rate": round(harm_rate.rate, 4),
            "low": round(harm_rate.low, 4),
            "high": round(harm_rate.high, 4),
            "n": len(harm),
        },
        "neutral_kl": round(kl, 5),
        "accuracy": accuracy,
    }
