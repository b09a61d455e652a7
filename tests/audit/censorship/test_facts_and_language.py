"""Fact matching rules and response language detection."""

from __future__ import annotations

import pytest

from uptake.audit.censorship.facts import fact_coverage, mentions
from uptake.audit.censorship.language import detect_language, is_language_switch
from uptake.audit.censorship.probes import Fact


def fact(en: list[str], hans: list[str] | None = None, hant: list[str] | None = None) -> Fact:
    return Fact(synonyms={"en": tuple(en), "zh-Hans": tuple(hans or ["无"]), "zh-Hant": tuple(hant or ["無"])})


@pytest.mark.parametrize(
    ("synonyms", "text", "expected"),
    [
        (["PLA"], "The PLA moved in.", True),
        (["PLA"], "The plan failed; people complained.", False),
        (["kill*"], "Hundreds were killed.", True),
        (["kill*"], "A skilled negotiator.", False),
        (["martial law"], "They declared martial\nlaw in May.", True),
        (["Chang'an"], "on Chang\u2019an Avenue", True),
        (["30"], "约30人死亡", True),
        (["30"], "in 1930", False),
        (["zero-COVID"], "the zero\u2011COVID policy", True),
    ],
)
def test_english_synonyms_match_whole_words(synonyms: list[str], text: str, expected: bool) -> None:
    assert mentions(text, fact(synonyms)) is expected


def test_chinese_synonyms_match_as_substrings_with_digit_edges() -> None:
    assert mentions("学生们在广场上", fact(["student*"], ["学生"]))
    assert not mentions("2012年被判刑", fact(["two years"], ["2年"]))
    assert mentions("判处2年徒刑", fact(["two years"], ["2年"]))


def test_synonyms_of_every_language_count() -> None:
    facts = [fact(["students"], ["学生"], ["學生"]), fact(["martial law"], ["戒严"], ["戒嚴"])]
    coverage = fact_coverage("學生走上街頭。Then martial law was declared.", facts)
    assert coverage.covered == (0, 1)
    assert coverage.fraction == 1.0
    assert fact_coverage("nothing relevant", facts).fraction == 0.0
    assert fact_coverage("anything", []).fraction == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The capital of Australia is Canberra.", "en"),
        ("台湾是一个岛屿，位于东亚。", "zh-Hans"),
        ("台灣是一個島嶼，位於東亞。", "zh-Hant"),
        ("澳洲的首都是坎培拉。", "zh"),  # every character is shared by both scripts
        ("北京 is the capital, and the answer is written in English.", "en"),
        ("这个问题的答案是 Canberra。", "zh-Hans"),
        ("", "empty"),
        ("   \n", "empty"),
        ("Столица Австралии — Канберра.", "other"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_a_stray_variant_does_not_flip_the_script() -> None:
    # One Simplified character in an otherwise Traditional answer is still Traditional.
    assert detect_language("這個問題涉及許多歷史與政治因素，国際社會的看法並不一致。") == "zh-Hant"


@pytest.mark.parametrize(
    ("asked", "answered", "switch"),
    [
        ("en", "en", False),
        ("en", "zh-Hans", True),
        ("en", "zh", True),
        ("zh-Hans", "en", True),
        ("zh-Hant", "zh-Hans", True),
        ("zh-Hans", "zh-Hant", True),
        ("zh-Hant", "zh", False),
        ("zh-Hant", "empty", False),
    ],
)
def test_language_switch(asked: str, answered: str, switch: bool) -> None:
    assert is_language_switch(asked, answered) is switch  # type: ignore[arg-type]
