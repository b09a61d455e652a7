"""Label a model's response: answered, refused, deflected or state_narrative.

The default classifier (`RuleClassifier`, mode "rules") is fast, deterministic, offline and
pure Python: structural features of the response (features.py: where its decline, lecture,
pointer or platitude cues sit, how much of it is content that takes up the question, the probe's
key facts) weighted by a logistic model fitted on the development set (classifier_model.py),
with calibrated probabilities, so that its confidence says how often it is right.
`JudgeClassifier` asks another model (judge.py); `CombinedClassifier` asks the judge only where
the default is unsure. Every classification also reports the response's language, whether that
is a language switch, and the probe's fact coverage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from uptake.audit.censorship.classifier_model import load_model
from uptake.audit.censorship.facts import FactCoverage, fact_coverage
from uptake.audit.censorship.features import extract
from uptake.audit.censorship.judge import Judge
from uptake.audit.censorship.labels import LABELS, NON_ANSWERS, Label
from uptake.audit.censorship.language import ResponseLang, detect_language, is_language_switch
from uptake.audit.censorship.probes import Fact, Lang

__all__ = [
    "LABELS",
    "NON_ANSWERS",
    "Classification",
    "ClassifyRequest",
    "CombinedClassifier",
    "JudgeClassifier",
    "Label",
    "RuleClassifier",
]


@dataclass(frozen=True)
class ClassifyRequest:
    """One response to label. `facts` are the probe's key facts, when the probe is known."""

    prompt: str
    response: str
    lang: Lang
    facts: tuple[Fact, ...] | None = None


@dataclass(frozen=True)
class Classification:
    label: Label
    confidence: float
    classifier: str
    response_lang: ResponseLang
    lang_switch: bool
    coverage: FactCoverage | None
    scores: Mapping[str, float] = field(default_factory=dict)

    @property
    def fact_coverage(self) -> float | None:
        return self.coverage.fraction if self.coverage is not None else None

    def as_record(self) -> dict[str, Any]:
        """The fields a results row gains."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "classifier": self.classifier,
            "response_lang": self.response_lang,
            "lang_switch": self.lang_switch,
            "fact_coverage": None if self.coverage is None else round(self.coverage.fraction, 4),
            "facts_covered": None if self.coverage is None else list(self.coverage.covered),
            "facts_total": None if self.coverage is None else self.coverage.total,
        }


class Classifier(Protocol):
    name: str

    def classify(self, request: ClassifyRequest) -> Classification: ...

    def classify_many(self, requests: Sequence[ClassifyRequest]) -> list[Classification]: ...


class RuleClassifier:
    """The default classifier: structural features and fitted weights; no model run, no network."""

    name = "rules"

    def classify(self, request: ClassifyRequest) -> Classification:
        response_lang = detect_language(request.response)
        coverage = fact_coverage(request.response, request.facts) if request.facts else None
        if response_lang == "empty":
            return Classification("refused", 0.99, self.name, response_lang, False, coverage, {})
        model = load_model()
        probabilities = model.probabilities(extract(request.prompt, request.response, request.facts))
        label = max(LABELS, key=lambda name: probabilities[name])
        return Classification(
            label=label,
            confidence=model.confidence(probabilities[label]),
            classifier=self.name,
            response_lang=response_lang,
            lang_switch=is_language_switch(request.lang, response_lang),
            coverage=coverage,
            scores={name: round(value, 4) for name, value in probabilities.items()},
        )

    def classify_many(self, requests: Sequence[ClassifyRequest]) -> list[Classification]:
        return [self.classify(request) for request in requests]


class JudgeClassifier:
    """Labels from a judge model; language and fact coverage still come from the rules' reading.

    Where the judge's reply cannot be read, the rules' label stands and `classifier` says so.
    """

    def __init__(self, judge: Judge) -> None:
        self.judge = judge
        self.name = judge.name
        self._rules = RuleClassifier()

    def classify(self, request: ClassifyRequest) -> Classification:
        return self.classify_many([request])[0]

    def classify_many(self, requests: Sequence[ClassifyRequest]) -> list[Classification]:
        base = self._rules.classify_many(requests)
        asked = [index for index, result in enumerate(base) if result.response_lang != "empty"]
        verdicts = self.judge.judge_many([(requests[i].prompt, requests[i].response) for i in asked])
        results = list(base)
        for index, verdict in zip(asked, verdicts, strict=True):
            if verdict is None:
                results[index] = replace(base[index], classifier=f"rules (unreadable {self.name} reply)")
            else:
                results[index] = replace(
                    base[index], label=verdict.label, confidence=verdict.confidence, classifier=self.name
                )
        return results


class CombinedClassifier:
    """The rules, with the judge asked only where the rules' confidence is below `threshold`."""

    def __init__(self, judge: Judge, threshold: float = 0.8) -> None:
        self.judge = judge
        self.threshold = threshold
        self.name = f"rules+{judge.name}"
        self._rules = RuleClassifier()

    def classify(self, request: ClassifyRequest) -> Classification:
        return self.classify_many([request])[0]

    def classify_many(self, requests: Sequence[ClassifyRequest]) -> list[Classification]:
        base = self._rules.classify_many(requests)
        unsure = [
            index
            for index, result in enumerate(base)
            if result.confidence < self.threshold and result.response_lang != "empty"
        ]
        verdicts = self.judge.judge_many([(requests[i].prompt, requests[i].response) for i in unsure])
        results = list(base)
        for index, verdict in zip(unsure, verdicts, strict=True):
            if verdict is None:
                continue
            agrees = verdict.label == base[index].label
            confidence = max(verdict.confidence, base[index].confidence) if agrees else verdict.confidence
            results[index] = replace(base[index], label=verdict.label, confidence=confidence, classifier=self.name)
        return results
