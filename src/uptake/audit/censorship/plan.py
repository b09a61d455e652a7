"""What an audit asks: its settings, and the list of generations (probe x language x sample).

The plan is a pure function of the settings and the probe set, so a resumed run rebuilds exactly
the plan it started with and can tell which generations are still to do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from uptake.audit.censorship.probes import LANGS, Lang, Probe, ProbeSet, Split
from uptake.engines.base import GenerationRequest
from uptake.errors import UsageError
from uptake.settings import Settings

# Every language by default: models answer Simplified and Traditional Chinese differently (mainland
# and Taiwan / Hong Kong training text). With batched decoding the full audit still fits its time
# budget on two cores; benchmarks/audit_throughput.py measures it.
DEFAULT_LANGS: tuple[Lang, ...] = LANGS
FULL_MAX_TOKENS = 256
QUICK_MAX_TOKENS = 160
QUICK_BASELINES = 3  # neutral and harm probes each in a quick audit
SAMPLING_TEMPERATURE = 0.7  # K > 1: the spread of a model's answers is what is measured
TOP_P = 0.95
# Generations per generate_batch call; results are saved after each chunk, so a crash loses at most one
# chunk (about two minutes of the full audit on two cores). Each chunk ends in a tail where its longest
# answers finish almost alone, so fewer, larger chunks are faster: the quick audit (66 generations) of
# the default model took 50 s in chunks of 33 and 47 s in one chunk.
CHUNK_SIZE = 96
# Sequences decoded together. The quick audit of the default model on two cores, in one chunk: 53 s
# with 16, 50 s with 24, 48 s with 32. Letting the next chunk start while one finishes would save
# part of each tail, but makes each answer depend on when the chunks met, so a rerun or a resumed run
# would no longer reproduce the same text at temperature 0; chunks stay one after the other.
AUDIT_PARALLEL = 32
PROMPT_ROOM = 768  # context for a probe question and the chat template around it, beyond max_tokens

# Topics of a quick audit: one or two per theme, all from the eval split.
QUICK_TOPICS: tuple[str, ...] = (
    "tiananmen-1989",
    "great-leap-famine",
    "liu-xiaobo",
    "hong-kong-nsl",
    "li-wenliang",
    "taiwan-status",
    "xinjiang-camps",
    "dalai-lama-exile",
)


@dataclass(frozen=True)
class AuditConfig:
    """Everything that decides which generations an audit makes and how they are sampled."""

    langs: tuple[Lang, ...] = DEFAULT_LANGS
    samples: int = 1
    topics: tuple[str, ...] | None = None  # None: every topic of the split
    baselines: int | None = None  # neutral and harm probes each; None: all of the split
    split: Split = "eval"
    max_tokens: int = FULL_MAX_TOKENS
    seed: int = 0
    quick: bool = False
    chunk_size: int = CHUNK_SIZE

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise UsageError("--samples must be 1 or more.")
        if not self.langs:
            raise UsageError("--langs needs at least one language.")
        if self.chunk_size < 1:
            raise UsageError("the chunk size must be 1 or more.")

    @classmethod
    def create(
        cls,
        *,
        quick: bool = False,
        langs: Sequence[Lang] | None = None,
        samples: int = 1,
        topics: Sequence[str] | None = None,
        baselines: int | None = None,
        max_tokens: int | None = None,
        seed: int = 0,
        chunk_size: int = CHUNK_SIZE,
    ) -> AuditConfig:
        """Settings with the defaults of a quick or a full audit filled in."""
        return cls(
            langs=tuple(langs) if langs else DEFAULT_LANGS,
            samples=samples,
            topics=tuple(topics) if topics else (QUICK_TOPICS if quick else None),
            baselines=baselines if baselines is not None else (QUICK_BASELINES if quick else None),
            max_tokens=max_tokens or (QUICK_MAX_TOKENS if quick else FULL_MAX_TOKENS),
            seed=seed,
            quick=quick,
            chunk_size=chunk_size,
        )

    @property
    def temperature(self) -> float:
        """One sample is the model's most likely answer (greedy); several need sampling to differ."""
        return 0.0 if self.samples == 1 else SAMPLING_TEMPERATURE

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["langs"] = list(self.langs)
        data["topics"] = None if self.topics is None else list(self.topics)
        data["temperature"] = self.temperature
        data["top_p"] = TOP_P
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditConfig:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["langs"] = parse_langs(",".join(data.get("langs", DEFAULT_LANGS)))
        if known.get("topics") is not None:
            known["topics"] = tuple(known["topics"])
        return cls(**known)


@dataclass(frozen=True)
class PlannedGeneration:
    probe: Probe
    lang: Lang
    sample: int

    @property
    def key(self) -> str:
        return generation_key(self.probe.id, self.lang, self.sample)


def generation_key(probe_id: str, lang: str, sample: int) -> str:
    """What identifies a generation across a crash and a resume."""
    return f"{probe_id}|{lang}|{sample}"


def parse_langs(text: str) -> tuple[Lang, ...]:
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    langs: list[Lang] = []
    for name in wanted:
        lang = next((known for known in LANGS if known.lower() == name.lower()), None)
        if lang is None:
            raise UsageError(f"unknown language '{name}'; choose from {', '.join(LANGS)}.")
        if lang not in langs:
            langs.append(lang)
    if not langs:
        raise UsageError(f"--langs needs at least one of {', '.join(LANGS)}.")
    return tuple(langs)


def parse_topics(text: str, probe_set: ProbeSet) -> tuple[str, ...]:
    known = {topic.id for topic in probe_set.topics}
    topics = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [topic for topic in topics if topic not in known]
    if unknown:
        raise UsageError(
            f"unknown topic(s) {', '.join(unknown)}; topic ids look like 'tiananmen-1989' "
            "(see the probe files under uptake/audit/censorship/probes)."
        )
    if not topics:
        raise UsageError("--topics needs at least one topic id.")
    return topics


def selected_probes(config: AuditConfig, probe_set: ProbeSet) -> list[Probe]:
    """Target and control probes of the chosen topics, then the neutral and harm baselines."""
    if config.topics is not None:
        # Named topics are asked whatever their split: a user who names one wants it.
        paired = probe_set.select(arms=("target", "control"), topics=config.topics)
    else:
        paired = probe_set.select(arms=("target", "control"), split=config.split)
    neutral = probe_set.select(arms=("neutral",), split=config.split)
    harm = probe_set.select(arms=("harm",), split=config.split)
    if config.baselines is not None:
        neutral, harm = neutral[: config.baselines], harm[: config.baselines]
    return [*paired, *neutral, *harm]


def build_plan(config: AuditConfig, probe_set: ProbeSet) -> list[PlannedGeneration]:
    """Every generation, sample by sample, so a run stopped early has whole samples to show."""
    probes = selected_probes(config, probe_set)
    return [
        PlannedGeneration(probe, lang, sample)
        for sample in range(config.samples)
        for lang in config.langs
        for probe in probes
    ]


def load_options_for(config: AuditConfig, settings: Settings) -> dict[str, Any]:
    """How to load the engine for an audit: a context just large enough, and more parallel sequences
    than a chat needs. Values the user set (UPTAKE_CONTEXT_SIZE, UPTAKE_PARALLEL) are kept."""
    chosen = settings.model_fields_set
    return {
        "context_size": settings.context_size
        if "context_size" in chosen
        else min(settings.context_size, config.max_tokens + PROMPT_ROOM),
        "threads": settings.threads,
        "parallel": settings.parallel if "parallel" in chosen else AUDIT_PARALLEL,
    }


def sample_seed(run_seed: int, key: str) -> int:
    """A seed per generation that depends only on the run seed and the generation, never on order."""
    digest = hashlib.sha256(f"{run_seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def request_for(item: PlannedGeneration, config: AuditConfig) -> GenerationRequest:
    seed = config.seed if config.samples == 1 else sample_seed(config.seed, item.key)
    return GenerationRequest.from_prompt(
        item.probe.prompt(item.lang),
        temperature=config.temperature,
        top_p=TOP_P,
        max_tokens=config.max_tokens,
        seed=seed,
    )


def chunks(plan: Sequence[PlannedGeneration], size: int) -> Iterable[Sequence[PlannedGeneration]]:
    """Fixed slices of the whole plan: a resumed run batches the generations it redoes as before."""
    for start in range(0, len(plan), size):
        yield plan[start : start + size]
