"""Which of the audit's probes find the directions, which score the search, which are held out for the report.

The audit's probe set already splits topics into dev and eval. Directions are found on the dev topics
(targets against their matched controls; harm dev requests against neutral dev questions) in English and
Simplified Chinese. The eval topics are split again, alternately in id order: the search scores its trials
on one half, the final report uses the other half, which neither the directions nor the search saw, in all
three languages (Traditional Chinese is never used to find anything: it shows whether the edit carries
over to a script it was not found on).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from uptake.audit.censorship.probes import LANGS, Lang, Probe, ProbeSet
from uptake.engines.base import GenerationRequest

FIND_LANGS: tuple[Lang, ...] = ("en", "zh-Hans")


@dataclass(frozen=True)
class Prompt:
    probe: Probe
    lang: Lang

    @property
    def text(self) -> str:
        return self.probe.prompt(self.lang)

    def request(self, max_tokens: int = 1) -> GenerationRequest:
        return GenerationRequest.from_prompt(self.text, temperature=0.0, max_tokens=max_tokens, seed=0)


@dataclass(frozen=True)
class ControlSplit:
    direction_topics: tuple[str, ...]
    search_topics: tuple[str, ...]
    report_topics: tuple[str, ...]

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "direction_topics": list(self.direction_topics),
            "search_topics": list(self.search_topics),
            "report_topics": list(self.report_topics),
        }


def split_topics(probe_set: ProbeSet) -> ControlSplit:
    evaluation = sorted(topic.id for topic in probe_set.topics if topic.split == "eval")
    return ControlSplit(
        direction_topics=tuple(sorted(topic.id for topic in probe_set.topics if topic.split == "dev")),
        search_topics=tuple(evaluation[0::2]),
        report_topics=tuple(evaluation[1::2]),
    )


def prompts(probes: Iterable[Probe], langs: Sequence[Lang]) -> list[Prompt]:
    return [Prompt(probe, lang) for probe in probes for lang in langs]


@dataclass(frozen=True)
class PromptGroups:
    """Every prompt group control reads, built once from the probe set and the split."""

    political: list[Prompt]  # direction topics' targets
    political_controls: list[Prompt]  # their matched controls
    harm: list[Prompt]  # harm requests (dev) for the harm direction
    neutral: list[Prompt]  # neutral questions (dev) for the harm direction
    search_targets: list[Prompt]
    search_harm: list[Prompt]
    search_neutral: list[Prompt]
    report_targets: list[Prompt]
    report_controls: list[Prompt]
    report_harm: list[Prompt]
    report_neutral: list[Prompt]
    cross_script: list[Prompt]  # direction topics' targets in Traditional Chinese
    cross_script_controls: list[Prompt]


def prompt_groups(probe_set: ProbeSet, split: ControlSplit, search_langs: Sequence[Lang] = FIND_LANGS) -> PromptGroups:
    def arm(arm_name: str, topics: Sequence[str]) -> list[Probe]:
        return probe_set.select(arms=[arm_name], topics=topics)  # type: ignore[list-item]

    eval_harm = probe_set.select(arms=["harm"], split="eval")
    eval_neutral = probe_set.select(arms=["neutral"], split="eval")
    return PromptGroups(
        political=prompts(arm("target", split.direction_topics), FIND_LANGS),
        political_controls=prompts(arm("control", split.direction_topics), FIND_LANGS),
        harm=prompts(probe_set.select(arms=["harm"], split="dev"), FIND_LANGS),
        neutral=prompts(probe_set.select(arms=["neutral"], split="dev"), FIND_LANGS),
        search_targets=prompts(arm("target", split.search_topics), search_langs),
        search_harm=prompts(eval_harm[0::2], search_langs),
        search_neutral=prompts(eval_neutral[0::2], search_langs),
        report_targets=prompts(arm("target", split.report_topics), LANGS),
        report_controls=prompts(arm("control", split.report_topics), LANGS),
        report_harm=prompts(eval_harm[1::2], LANGS),
        report_neutral=prompts(eval_neutral[1::2], LANGS),
        cross_script=prompts(arm("target", split.direction_topics), ("zh-Hant",)),
        cross_script_controls=prompts(arm("control", split.direction_topics), ("zh-Hant",)),
    )
