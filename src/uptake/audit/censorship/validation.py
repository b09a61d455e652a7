"""The labelled validation set the classifier is measured on (see validation/GUIDELINES.md).

Written edge cases live in `validation/written_*.toml`; real outputs of catalog models, labelled
by reading, in `validation/model_outputs.jsonl`. Prompts and key facts come from the probe set.
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


@dataclass(frozen=True)
class ValidationCase:
    id: str
    probe_id: str
    lang: Lang
    prompt: str
    response: str
    label: Label
    lang_switch: bool
    split: Split
    source: str  # "written" or "model:<name>"

    def request(self, probe_set: ProbeSet) -> ClassifyRequest:
        probe = probe_set.get(self.probe_id)
        return ClassifyRequest(self.prompt, self.response, self.lang, probe.facts or None)


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
            for number, line in enumerate(entry.read_text(encoding="utf-8").splitlines(), start=1):
                if line.strip():
                    raw = json.loads(line)
                    where = f"{entry.name}:{number}"
                    cases.append(_case(where, raw, _lang(where, raw.get("lang")), f"model:{raw['model']}", probes))
    ids = [case.id for case in cases]
    if len(ids) != len(set(ids)):
        raise ProbeSetError("validation case ids must be unique.")
    return cases


def _case(where: str, raw: dict[str, Any], lang: Lang, source: str, probes: ProbeSet) -> ValidationCase:
    probe = probes.get(raw["probe"])
    label = raw["label"]
    split = raw["split"]
    if label not in LABELS or split not in SPLITS:
        raise ProbeSetError(f"{where}: case {raw.get('id')} has label {label!r} / split {split!r}.")
    return ValidationCase(
        id=raw["id"],
        probe_id=probe.id,
        lang=lang,
        prompt=raw.get("prompt", probe.prompt(lang)),
        response=raw["response"].strip(),
        label=label,
        lang_switch=bool(raw.get("lang_switch", False)),
        split=split,
        source=source,
    )


def _lang(where: str, value: Any) -> Lang:
    for lang in LANGS:
        if value == lang:
            return lang
    raise ProbeSetError(f"{where}: lang must be one of {', '.join(LANGS)}, not {value!r}.")
