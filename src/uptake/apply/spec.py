"""The task file's shape: one YAML file that is both the evaluation and the production run of a sector task.

It names the input rows, the prompt (per language, with few-shot examples), the output's JSON schema
(enforced by a grammar), the gold answers with a metric per field, the gates a deployment requires and
when to abstain. `taskfile.load_task` reads and checks it. The format is documented in docs/task-file.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, field_validator

Metric = Literal["accuracy", "macro_f1", "exact_match", "numeric", "set_f1"]
FieldKind = Literal["enum", "boolean", "string", "number", "array"]
Scope = Literal["all", "answered"]
Op = Literal[">=", ">", "<=", "<", "=="]

# What each kind of field is scored by when the task file does not say.
DEFAULT_METRICS: dict[FieldKind, tuple[Metric, ...]] = {
    "enum": ("accuracy", "macro_f1"),
    "boolean": ("accuracy", "macro_f1"),
    "string": ("exact_match",),
    "number": ("numeric",),
    "array": ("set_f1",),
}
# The metrics that make sense for each kind (a macro-F1 of free text is not a thing).
ALLOWED_METRICS: dict[FieldKind, frozenset[Metric]] = {
    "enum": frozenset({"accuracy", "macro_f1", "exact_match"}),
    "boolean": frozenset({"accuracy", "macro_f1", "exact_match"}),
    "string": frozenset({"exact_match", "accuracy"}),
    "number": frozenset({"numeric", "exact_match", "accuracy"}),
    "array": frozenset({"set_f1", "exact_match"}),
}
RUN_WIDE_GATES = ("coverage", "schema_valid_rate")
_GATE = re.compile(r"^\s*(?:(all|answered)\.)?([A-Za-z0-9_\-]+)(?:\.([a-z_0-9]+))?\s*(>=|<=|==|>|<)\s*([0-9.]+)\s*$")
LANGUAGE_CODE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class InputSpec(_Strict):
    path: str = Field(min_length=1)
    format: Literal["csv", "jsonl", "parquet"] | None = None  # None: from the file's suffix
    id: str = "id"
    language: str | None = None  # column with each row's language; None: every row is in the first language
    fields: tuple[str, ...] = Field(min_length=1)


class Example(_Strict):
    input: dict[str, Any]
    output: dict[str, Any]


Localized = str | dict[str, str]


class PromptSpec(_Strict):
    system: Localized | None = None
    user: Localized
    examples: list[Example] | dict[str, list[Example]] = Field(default_factory=list)


class OutputSpec(_Strict):
    schema_: dict[str, Any] = Field(alias="schema")
    max_tokens: int = Field(default=256, ge=1, le=8192)


class MetricSpec(_Strict):
    metric: Metric
    tolerance: float = Field(default=0.0, ge=0.0)
    relative: bool = False  # tolerance as a fraction of the gold value


class GoldSpec(_Strict):
    path: str = Field(min_length=1)
    id: str = "id"
    metrics: dict[str, Metric | MetricSpec | list[Metric | MetricSpec]] = Field(default_factory=dict)


class AbstentionSpec(_Strict):
    fields: tuple[str, ...] = Field(min_length=1)
    threshold: float = Field(gt=0.0, lt=1.0)


class SamplingSpec(_Strict):
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    seed: int = 0


class TaskSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{0,62}$")
    version: int = Field(default=1, ge=1)
    sector: str = Field(min_length=1)
    description: str = ""
    synthetic: bool = False
    notice: str | None = None
    languages: tuple[str, ...] = Field(min_length=1)
    input: InputSpec
    prompt: PromptSpec
    output: OutputSpec
    gold: GoldSpec | None = None
    gates: tuple[str, ...] = ()
    abstention: AbstentionSpec | None = None
    sampling: SamplingSpec = SamplingSpec()

    @field_validator("languages")
    @classmethod
    def _codes(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        for code in languages:
            if not re.match(LANGUAGE_CODE, code):
                raise ValueError(f"'{code}' is not a language code (en, zh-Hans, zh-Hant …)")
        if len(set(languages)) != len(languages):
            raise ValueError("a language is listed twice")
        return languages


@dataclass(frozen=True)
class FieldSpec:
    """One output field, as the schema declares it and as it is scored."""

    name: str
    kind: FieldKind
    labels: tuple[str, ...]  # for enum and boolean fields: the values, as text
    metrics: tuple[MetricSpec, ...]


@dataclass(frozen=True)
class Gate:
    expression: str
    scope: Scope
    field: str  # a field name, or one of RUN_WIDE_GATES
    metric: Metric | None
    op: Op
    threshold: float

    def holds(self, value: float) -> bool:
        checks = {">=": value >= self.threshold, ">": value > self.threshold, "<=": value <= self.threshold,
                  "<": value < self.threshold, "==": value == self.threshold}
        return checks[self.op]


@dataclass(frozen=True)
class Task:
    """A checked task file, with its paths resolved against the file's folder."""

    spec: TaskSpec
    path: Path
    sha256: str  # of the task file's bytes
    fields: dict[str, FieldSpec]
    gates: tuple[Gate, ...]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def input_path(self) -> Path:
        return (self.folder / self.spec.input.path).resolve()

    @property
    def gold_path(self) -> Path | None:
        return None if self.spec.gold is None else (self.folder / self.spec.gold.path).resolve()

    @cached_property
    def schema(self) -> dict[str, Any]:
        return self.spec.output.schema_

    @cached_property
    def validator(self) -> jsonschema.Draft202012Validator:
        """The output schema's validator, built once for every row's answer."""
        return jsonschema.Draft202012Validator(self.schema)

    def text_for(self, value: Localized | None, language: str) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return value[language]

    def examples_for(self, language: str) -> list[Example]:
        examples = self.spec.prompt.examples
        return list(examples) if isinstance(examples, list) else list(examples.get(language, []))


def parse_gate(expression: str) -> tuple[Scope, str, str | None, Op, float] | None:
    match = _GATE.match(expression)
    if match is None:
        return None
    scope, field, metric, op, number = match.groups()
    try:
        threshold = float(number)
    except ValueError:
        return None
    return (scope or "all"), field, metric, op, threshold  # type: ignore[return-value]
