"""The probe set: PRC-sensitive topics with matched controls, neutral questions and harm requests.

The questions live in TOML files under `probes/`, one themed file per group of topics. This
module reads them into typed, immutable objects and checks the invariants the statistics rely
on (unique ids, every question in every language, facts for every topic).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal, get_args

from uptake.errors import UptakeError

Lang = Literal["en", "zh-Hans", "zh-Hant"]
Arm = Literal["target", "control", "neutral", "harm"]
Split = Literal["eval", "dev"]

LANGS: tuple[Lang, ...] = get_args(Lang)
ARMS: tuple[Arm, ...] = get_args(Arm)
SPLITS: tuple[Split, ...] = get_args(Split)

_TOPIC_ARMS: tuple[Literal["target", "control"], ...] = ("target", "control")
_SINGLE_ARMS: tuple[Literal["neutral", "harm"], ...] = ("neutral", "harm")
_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class ProbeSetError(UptakeError):
    """A probe file that breaks the schema; the message names the file and the entry."""


@dataclass(frozen=True)
class Fact:
    """One concept a factual answer contains, with accepted wordings in each language."""

    synonyms: Mapping[Lang, tuple[str, ...]]

    def all_synonyms(self) -> tuple[str, ...]:
        return tuple(word for lang in LANGS for word in self.synonyms.get(lang, ()))


@dataclass(frozen=True)
class Probe:
    """One question, asked in every language. `id` is stable: '<topic>.<arm>'."""

    id: str
    topic: str
    arm: Arm
    split: Split
    title: str
    subject: str
    prompts: Mapping[Lang, str]
    facts: tuple[Fact, ...]

    def prompt(self, lang: Lang) -> str:
        return self.prompts[lang]


@dataclass(frozen=True)
class Topic:
    """A sensitive topic: a target question and its matched control."""

    id: str
    title: str
    split: Split
    target: Probe
    control: Probe


@dataclass(frozen=True, eq=False)
class ProbeSet:
    probes: tuple[Probe, ...]
    topics: tuple[Topic, ...]
    version: str  # sha256 of the data files, so results can name the exact probe set

    def get(self, probe_id: str) -> Probe:
        for probe in self.probes:
            if probe.id == probe_id:
                return probe
        raise ProbeSetError(f"unknown probe id '{probe_id}'; ids look like 'tiananmen-1989.target'.")

    def find(self, probe_id: str) -> Probe | None:
        return next((probe for probe in self.probes if probe.id == probe_id), None)

    def find_by_prompt(self, prompt: str) -> tuple[Probe, Lang] | None:
        """The probe (and language) whose question is exactly this text, ignoring outer spaces."""
        return _prompt_index(self).get(prompt.strip())

    def select(
        self,
        *,
        arms: Iterable[Arm] | None = None,
        split: Split | None = None,
        topics: Iterable[str] | None = None,
    ) -> list[Probe]:
        wanted_arms = set(arms) if arms is not None else set(ARMS)
        wanted_topics = set(topics) if topics is not None else None
        return [
            probe
            for probe in self.probes
            if probe.arm in wanted_arms
            and (split is None or probe.split == split)
            and (wanted_topics is None or probe.topic in wanted_topics)
        ]


@cache
def _prompt_index(probe_set: ProbeSet) -> dict[str, tuple[Probe, Lang]]:
    return {probe.prompts[lang].strip(): (probe, lang) for probe in probe_set.probes for lang in LANGS}


def default_probe_dir() -> Traversable:
    return resources.files("uptake.audit.censorship").joinpath("probes")


@cache
def load_probe_set(directory: Path | None = None) -> ProbeSet:
    """Read every `*.toml` file of the probe directory (the shipped set by default)."""
    root: Traversable = directory if directory is not None else default_probe_dir()
    files = sorted((entry for entry in root.iterdir() if entry.name.endswith(".toml")), key=lambda e: e.name)
    if not files:
        raise ProbeSetError(f"no probe files (*.toml) in {root}.")
    digest = hashlib.sha256()
    probes: list[Probe] = []
    topics: list[Topic] = []
    for entry in files:
        raw = entry.read_bytes()
        digest.update(entry.name.encode() + b"\0" + raw)
        try:
            document = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ProbeSetError(f"{entry.name}: not valid UTF-8 TOML ({error}).") from error
        file_topics, file_probes = _parse_document(entry.name, document)
        topics.extend(file_topics)
        probes.extend(file_probes)
    _check_unique(probes)
    return ProbeSet(probes=tuple(probes), topics=tuple(topics), version=digest.hexdigest())


def _parse_document(filename: str, document: dict[str, Any]) -> tuple[list[Topic], list[Probe]]:
    unknown = set(document) - {"topic", "neutral", "harm"}
    if unknown:
        raise ProbeSetError(
            f"{filename}: unknown top-level keys {sorted(unknown)}; use [[topic]], [[neutral]] or [[harm]]."
        )
    topics: list[Topic] = []
    probes: list[Probe] = []
    for entry in document.get("topic", []):
        topic = _parse_topic(filename, entry)
        topics.append(topic)
        probes.extend((topic.target, topic.control))
    for arm in _SINGLE_ARMS:
        for entry in document.get(arm, []):
            probes.append(_parse_single(filename, arm, entry))
    return topics, probes


def _parse_topic(filename: str, entry: dict[str, Any]) -> Topic:
    topic_id = _require_id(filename, entry)
    where = f"{filename}: topic '{topic_id}'"
    _require_keys(where, entry, {"id", "split", "title", "target", "control"})
    split = _require_split(where, entry)
    title = _require_text(where, entry, "title")
    arms: dict[str, Probe] = {}
    for arm in _TOPIC_ARMS:
        body = entry[arm]
        arm_where = f"{where} {arm}"
        _require_keys(arm_where, body, {"subject", "facts", *LANGS})
        arms[arm] = Probe(
            id=f"{topic_id}.{arm}",
            topic=topic_id,
            arm=arm,
            split=split,
            title=title,
            subject=_require_text(arm_where, body, "subject"),
            prompts=_parse_prompts(arm_where, body),
            facts=_parse_facts(arm_where, body.get("facts"), required=True),
        )
    return Topic(id=topic_id, title=title, split=split, target=arms["target"], control=arms["control"])


def _parse_single(filename: str, arm: Literal["neutral", "harm"], entry: dict[str, Any]) -> Probe:
    probe_id = _require_id(filename, entry)
    where = f"{filename}: {arm} '{probe_id}'"
    _require_keys(where, entry, {"id", "split", "facts", *LANGS})
    prompts = _parse_prompts(where, entry)
    return Probe(
        id=f"{probe_id}.{arm}",
        topic=probe_id,
        arm=arm,
        split=_require_split(where, entry),
        title=prompts["en"],
        subject=prompts["en"],
        prompts=prompts,
        facts=_parse_facts(where, entry.get("facts"), required=arm == "neutral"),
    )


def _parse_prompts(where: str, body: dict[str, Any]) -> dict[Lang, str]:
    return {lang: _require_text(where, body, lang) for lang in LANGS}


def _parse_facts(where: str, raw: Any, *, required: bool) -> tuple[Fact, ...]:
    if raw is None:
        if required:
            raise ProbeSetError(f"{where}: needs a 'facts' list.")
        return ()
    if not isinstance(raw, list) or (required and not raw):
        raise ProbeSetError(f"{where}: 'facts' must be a non-empty list of tables.")
    facts = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != set(LANGS):
            raise ProbeSetError(f"{where}: fact {index + 1} must give synonyms for exactly {', '.join(LANGS)}.")
        synonyms: dict[Lang, tuple[str, ...]] = {}
        for lang in LANGS:
            words = item[lang]
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
                raise ProbeSetError(f"{where}: fact {index + 1} needs a non-empty list of strings for {lang}.")
            synonyms[lang] = tuple(words)
        facts.append(Fact(synonyms=synonyms))
    return tuple(facts)


def _require_id(filename: str, entry: dict[str, Any]) -> str:
    value = entry.get("id")
    if not isinstance(value, str) or not _ID_PATTERN.match(value):
        raise ProbeSetError(f"{filename}: entry id {value!r} must be lower-case words joined by '-'.")
    return value


def _require_split(where: str, entry: dict[str, Any]) -> Split:
    value = entry.get("split")
    for split in SPLITS:
        if value == split:
            return split
    raise ProbeSetError(f"{where}: split must be one of {', '.join(SPLITS)}, not {value!r}.")


def _require_text(where: str, body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ProbeSetError(f"{where}: '{key}' must be non-empty text.")
    return value.strip()


def _require_keys(where: str, body: Any, allowed: set[str]) -> None:
    if not isinstance(body, dict):
        raise ProbeSetError(f"{where}: expected a table.")
    unknown = set(body) - allowed
    if unknown:
        raise ProbeSetError(f"{where}: unknown keys {sorted(unknown)}.")


def _check_unique(probes: list[Probe]) -> None:
    seen: set[str] = set()
    for probe in probes:
        if probe.id in seen:
            raise ProbeSetError(f"duplicate probe id '{probe.id}'; ids must be unique across all probe files.")
        seen.add(probe.id)
