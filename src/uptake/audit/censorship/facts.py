"""Fact coverage: which of a probe's key facts a response mentions.

Synonyms of every language count, because a model may answer a Chinese question in English.
Latin-script synonyms match whole words, case-insensitively, and a trailing `*` matches any
ending ("kill*" matches "killed"); Chinese synonyms match as substrings. Word edges are ASCII
letters and digits only, so "30" matches inside "约30人" but not inside "1930".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from uptake.audit.censorship.probes import Fact

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_EDGE_BEFORE = r"(?<![A-Za-z0-9])"
_EDGE_AFTER = r"(?![A-Za-z0-9])"


@dataclass(frozen=True)
class FactCoverage:
    covered: tuple[int, ...]  # indices into the probe's facts
    total: int

    @property
    def fraction(self) -> float:
        return len(self.covered) / self.total if self.total else 0.0


def normalize(text: str) -> str:
    """Fold the typographic variants models emit, so one synonym spelling matches them all."""
    return (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u2010", "-")
        .replace("\u2011", "-")
        .replace("\u2013", "-")
        .replace("\u00a0", " ")
    )


@cache
def synonym_pattern(synonym: str) -> re.Pattern[str]:
    word = normalize(synonym.strip())
    if _CJK.search(word):
        # Digits at either end still need edges: "2年" must not match inside "2012年".
        before = _EDGE_BEFORE if word[0].isascii() and word[0].isalnum() else ""
        after = _EDGE_AFTER if word[-1].isascii() and word[-1].isalnum() else ""
        return re.compile(before + re.escape(word) + after, re.IGNORECASE)
    prefix = word.endswith("*")
    stem = word.rstrip("*")
    body = r"\s+".join(re.escape(part) for part in stem.split())
    return re.compile(_EDGE_BEFORE + body + ("" if prefix else _EDGE_AFTER), re.IGNORECASE)


def mentions(text: str, fact: Fact) -> bool:
    normalized = normalize(text)
    return any(synonym_pattern(word).search(normalized) for word in fact.all_synonyms())


def fact_coverage(text: str, facts: Sequence[Fact]) -> FactCoverage:
    normalized = normalize(text)
    covered = tuple(
        index
        for index, fact in enumerate(facts)
        if any(synonym_pattern(word).search(normalized) for word in fact.all_synonyms())
    )
    return FactCoverage(covered=covered, total=len(facts))
