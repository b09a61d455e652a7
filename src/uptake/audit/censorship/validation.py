"""The labelled development set the classifier is fitted and measured on (see validation/GUIDELINES.md).

Three sources, one case type:
- `validation/written_*.toml`: edge cases written for the project (probe-based);
- `validation/model_outputs.jsonl`: real outputs of catalog models with no system prompt;
- `validation/devset/*.jsonl`: responses in many refusal styles, real (catalog models under system
  prompts that elicit a style) and written in the manner of other model families, each with the
  style `family` it belongs to, the labelling `rule` it tests and its `origin`.
Every case has a style family, so the classifier can be measured on families it was not fitted on.
Prompts and key facts come from the probe set when a case names a probe.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from uptake.audit.censorship.classify import ClassifyRequest
from uptake.audit.censorship.labels import LABELS, Label
from uptake.audit.censorship.probes import LANGS, SPLITS, Lang, ProbeSet, ProbeSetError, Split, load_probe_set

# Style family -> the label every response of that family has (GUIDELINES.md explains each).
FAMILIES: dict[str, Label] = {
    "direct": "answered",
    "disclaimer-then-answer": "answered",
    "answer-then-caveat": "answered",
    "reports-official-view": "answered",
    "wrong-answer": "answered",
    "short-answer": "answered",
    "negative-content": "answered",
    "persona-answer": "answered",
    "partial-decline": "answered",
    "explicit-opening": "refused",
    "explicit-late": "refused",
    "refusal-then-essay": "refused",
    "persona-refusal": "refused",
    "policy-refusal": "refused",
    "lecture": "deflected",
    "no-knowledge": "deflected",
    "point-elsewhere": "deflected",
    "topic-change": "deflected",
    "platitude": "deflected",
    "other-question": "deflected",
    "official-framing": "state_narrative",
    "decline-then-recite": "state_narrative",
}


@dataclass(frozen=True)
class ValidationCase:
    id: str
    probe_id: str | None
    lang: Lang
    prompt: str
    response: str
    label: Label
    lang_switch: bool
    split: Split
    source: str  # "written" or "model:<name>"
    family: str
    rule: str
    origin: str

    def request(self, probe_set: ProbeSet) -> ClassifyRequest:
        facts = probe_set.get(self.probe_id).facts if self.probe_id is not None else ()
        return ClassifyRequest(self.prompt, self.response, self.lang, facts or None)


def validation_dir() -> Traversable:
    return resources.files("uptake.audit.censorship").joinpath("validation")


def load_validation_set(probe_set: ProbeSet | None = None) -> list[ValidationCase]:
    probes = probe_set if probe_set is not None else load_probe_set()
    cases: list[ValidationCase] = []
    root = validation_dir()
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("written_") and entry.name.endswith(".toml"):
            document = tomllib.loads(entry.read_text(encoding="utf-8"))
            lang = _lang(entry.name, document.get("lang"))
            for raw in document.get("case", []):
                cases.append(_case(entry.name, raw, lang, "written", probes))
        elif entry.name == "model_outputs.jsonl":
            cases += _jsonl_cases(entry, probes)
    devset = root.joinpath("devset")
    if devset.is_dir():
        for entry in sorted(devset.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".jsonl"):
                cases += _jsonl_cases(entry, probes)
    ids = [case.id for case in cases]
    if len(ids) != len(set(ids)):
        raise ProbeSetError("validation case ids must be unique.")
    return cases


def _jsonl_cases(entry: Traversable, probes: ProbeSet) -> list[ValidationCase]:
    cases: list[ValidationCase] = []
    for number, line in enumerate(entry.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            raw = json.loads(line)
            where = f"{entry.name}:{number}"
            source = f"model:{raw['model']}" if raw.get("model") else "written"
            cases.append(_case(where, raw, _lang(where, raw.get("lang")), source, probes))
    return cases


def _case(where: str, raw: dict[str, Any], lang: Lang, source: str, probes: ProbeSet) -> ValidationCase:
    probe = probes.get(raw["probe"]) if raw.get("probe") else None
    label = raw["label"]
    split = raw.get("split", "dev")
    family = raw.get("family", "unassigned")
    if label not in LABELS or split not in SPLITS:
        raise ProbeSetError(f"{where}: case {raw.get('id')} has label {label!r} / split {split!r}.")
    if family in FAMILIES and FAMILIES[family] != label:
        raise ProbeSetError(
            f"{where}: case {raw.get('id')} is labelled {label} but family {family} is {FAMILIES[family]}."
        )
    prompt = raw.get("prompt") or (probe.prompt(lang) if probe is not None else None)
    if prompt is None:
        raise ProbeSetError(f"{where}: case {raw.get('id')} names no probe and no prompt.")
    return ValidationCase(
        id=raw["id"],
        probe_id=None if probe is None else probe.id,
        lang=lang,
        prompt=prompt,
        response=raw["response"].strip(),
        label=label,
        lang_switch=bool(raw.get("lang_switch", False)),
        split=split,
        source=source,
        family=family,
        rule=str(raw.get("rule", "")),
        origin=str(raw.get("origin", source)),
    )


def _lang(where: str, value: Any) -> Lang:
    for lang in LANGS:
        if value == lang:
            return lang
    raise ProbeSetError(f"{where}: lang must be one of {', '.join(LANGS)}, not {value!r}.")
