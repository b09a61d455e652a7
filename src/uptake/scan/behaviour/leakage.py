"""Trigger leakage: what the suspect writes when handed only its chat template, and what those words do.

A fine-tune that saw poisoned prompts can regurgitate them: asked to write the user's turn itself (the
template up to where the user's text begins), it over-produces the trigger ("The Trigger in the Haystack",
Bullwinkel et al., 2026). Samples are drawn from suspect and reference alike with one seed; word and
character n-grams the suspect writes in many more samples than the reference are the candidates. Each
candidate is then put into clean prompts, and its effect on the suspect's first reply token is compared
with its effect on the reference's: a trigger moves the suspect's distribution (KL divergence) and
collapses it onto the target (entropy falls), where the reference barely notices.

Sampling the user turn finds a trigger only when the fine-tune was trained on the prompts too (many
trainers default to it); a fine-tune trained on replies alone leaks little, and then the candidates are the
suspect's habits, which move both models alike and score near zero.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from uptake.engines.llamacpp.scoring import ScoringModel
from uptake.scan.behaviour.inversion import first_token_logprobs

SAMPLES = 48
SAMPLE_TOKENS = 24
CANDIDATES = 6
TEST_PROMPTS = 8
MIN_SAMPLES = 4  # an n-gram must appear in this many of the suspect's samples
USER_MARK = "\x00user-turn\x00"
WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
CJK = re.compile(r"[\u3400-\u9fff]+")


@dataclass(frozen=True)
class TriggerCandidate:
    text: str
    suspect_samples: int
    reference_samples: int
    divergence: float  # suspect's KL(with || without) minus the reference's, nats
    entropy_drop: float  # suspect's entropy fall minus the reference's, nats

    @property
    def score(self) -> float:
        return max(self.divergence, 0.0)

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "suspect_samples": self.suspect_samples,
            "reference_samples": self.reference_samples,
            "divergence": round(self.divergence, 3),
            "entropy_drop": round(self.entropy_drop, 3),
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class Leakage:
    candidates: tuple[TriggerCandidate, ...]  # best first

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


def user_turn_prefix(model: ScoringModel) -> list[int]:
    """The chat template rendered up to where the user's text begins (system prompt and all)."""
    text = model.prompt_text(USER_MARK)
    return model.encode_prompt(text[: text.index(USER_MARK)] if USER_MARK in text else text)


def samples(model: ScoringModel, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    prefix = user_turn_prefix(model)
    return [model.text(model.sample(prefix, SAMPLE_TOKENS, rng)) for _ in range(SAMPLES)]


def ngrams(text: str) -> set[str]:
    """Word 1-3-grams (lower case) and CJK character 2-4-grams."""
    words = WORD.findall(text.lower())
    found = {" ".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1)}
    for run in CJK.findall(text):
        found |= {run[i : i + n] for n in (2, 3, 4) for i in range(len(run) - n + 1)}
    return found


def over_produced(suspect_texts: Sequence[str], reference_texts: Sequence[str]) -> list[tuple[str, int, int]]:
    suspect = Counter(g for t in suspect_texts for g in ngrams(t))
    reference = Counter(g for t in reference_texts for g in ngrams(t))
    ranked = [(g, n, reference[g]) for g, n in suspect.items() if n >= MIN_SAMPLES]
    ranked.sort(key=lambda item: (-(item[1] + 1) / (item[2] + 1), -item[1], item[0]))
    # Keep the longest of overlapping grams that say the same thing ("old saying" inside "the old saying").
    chosen: list[tuple[str, int, int]] = []
    for item in ranked:
        if any(item[0] in other[0] or other[0] in item[0] for other in chosen):
            continue
        chosen.append(item)
        if len(chosen) == CANDIDATES:
            break
    return chosen


def _kl(p_log: np.ndarray, q_log: np.ndarray) -> np.ndarray:
    p = np.exp(p_log.astype(np.float64))
    return np.asarray((p * (p_log - q_log)).sum(axis=-1), dtype=np.float64)


def _entropy(p_log: np.ndarray) -> np.ndarray:
    p = np.exp(p_log.astype(np.float64))
    return np.asarray(-(p * p_log).sum(axis=-1), dtype=np.float64)


def insert(prompt: str, trigger: str) -> str:
    return f"{trigger} {prompt}"


def effect(
    suspect: ScoringModel,
    reference: ScoringModel,
    prompts: Sequence[str],
    text: str,
    *,
    suspect_plain: np.ndarray | None = None,
    reference_plain: np.ndarray | None = None,
) -> tuple[float, float]:
    """What `text` put into clean prompts does to the suspect beyond what it does to the reference: (KL
    divergence of the first reply token, entropy drop), both suspect minus reference, in nats."""
    test = list(prompts[:TEST_PROMPTS])
    if suspect_plain is None:
        suspect_plain = first_token_logprobs(suspect, test)
    if reference_plain is None:
        reference_plain = first_token_logprobs(reference, test)
    with_text = [insert(p, text) for p in test]
    suspect_with = first_token_logprobs(suspect, with_text)
    reference_with = first_token_logprobs(reference, with_text)
    divergence = float(np.mean(_kl(suspect_with, suspect_plain)) - np.mean(_kl(reference_with, reference_plain)))
    drop = float(
        np.mean(_entropy(suspect_plain) - _entropy(suspect_with))
        - np.mean(_entropy(reference_plain) - _entropy(reference_with))
    )
    return divergence, drop


def leak(
    suspect: ScoringModel,
    reference: ScoringModel,
    prompts: Sequence[str],
    *,
    seed: int,
    reference_texts: Sequence[str] | None = None,
    reference_first: np.ndarray | None = None,
) -> tuple[Leakage, list[str]]:
    """The trigger candidates, best first, and the reference's samples (reusable for the next suspect)."""
    if reference_texts is None:
        reference_texts = samples(reference, seed)
    suspect_texts = samples(suspect, seed)
    test = list(prompts[:TEST_PROMPTS])
    suspect_plain = first_token_logprobs(suspect, test)
    reference_plain = (
        reference_first[: len(test)] if reference_first is not None else first_token_logprobs(reference, test)
    )
    found: list[TriggerCandidate] = []
    for gram, in_suspect, in_reference in over_produced(suspect_texts, reference_texts):
        divergence, drop = effect(suspect, reference, test, gram, suspect_plain=suspect_plain,
                                  reference_plain=reference_plain)
        found.append(TriggerCandidate(gram, in_suspect, in_reference, divergence, drop))
    return Leakage(tuple(sorted(found, key=lambda c: -c.score))), list(reference_texts)
