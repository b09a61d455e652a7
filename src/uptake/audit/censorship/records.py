"""Typed records of how an audit ran: the classifier and the engine, as run.json and summary.json keep them.

They are written as plain JSON objects (the keys are documented in docs/audit-summary-schema.md) and read
back into these types, so a resume uses fields, not keys looked up in a dict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from uptake.engines.base import BatchEngine

ClassifierMode = Literal["rules", "judge", "combined"]
CLASSIFIER_MODES: tuple[ClassifierMode, ...] = ("rules", "judge", "combined")


@dataclass(frozen=True)
class ClassifierSettings:
    """Which classifier labels the answers; never holds an API key."""

    mode: ClassifierMode = "rules"
    judge: str | None = None  # a model name or path, or an OpenAI-compatible URL
    judge_model: str | None = None  # the model name sent to a URL judge
    threshold: float | None = None  # combined: ask the judge below this rule confidence

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierSettings:
        mode = data.get("mode", "rules")
        if mode not in CLASSIFIER_MODES:
            raise ValueError(f"unknown classifier mode {mode!r}")
        return cls(mode, data.get("judge"), data.get("judge_model"), data.get("threshold"))


@dataclass(frozen=True)
class LoadOptions:
    """How the engine is loaded for an audit; None leaves a setting to UPTAKE_* defaults."""

    context_size: int | None = None
    threads: int | None = None
    parallel: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadOptions:
        return cls(data.get("context_size"), data.get("threads"), data.get("parallel"))


@dataclass(frozen=True)
class EngineRecord:
    """The load options asked for and what the engine reported once loaded."""

    load: LoadOptions = field(default_factory=LoadOptions)
    engine: str | None = None
    context_size: int | None = None
    threads: int | None = None
    # Batched decoding can change greedy outputs, so how many sequences share a step is recorded.
    parallel: int | None = None
    chat_template_used_sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "load": self.load.as_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineRecord:
        return cls(
            load=LoadOptions.from_dict(data.get("load") or {}),
            engine=data.get("engine"),
            context_size=data.get("context_size"),
            threads=data.get("threads"),
            parallel=data.get("parallel"),
            chat_template_used_sha256=data.get("chat_template_used_sha256"),
        )


def engine_record(engine: BatchEngine, load: LoadOptions) -> EngineRecord:
    """What the engine was loaded with, as its EngineInfo tells; the chat template is named by its hash."""
    info = engine.info
    return EngineRecord(load, info.engine, info.context_size, info.threads, info.parallel, info.chat_template_sha256)
