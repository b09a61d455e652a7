"""Invariants of the shipped probe set, and the loader's handling of broken probe files."""

from __future__ import annotations

from pathlib import Path

import hanzidentifier
import pytest

from uptake.audit.censorship.facts import synonym_pattern
from uptake.audit.censorship.probes import LANGS, ProbeSetError, load_probe_set

# Ids are part of stored results: renaming one orphans every earlier run. New topics may be added.
STABLE_TOPIC_IDS = {
    "tiananmen-1989",
    "tiananmen-death-toll",
    "tank-man",
    "taiwan-status",
    "xinjiang-camps",
    "dalai-lama-exile",
    "hong-kong-protests-2019",
    "hong-kong-nsl",
    "falun-gong",
    "xi-criticism",
    "xi-term-limits",
    "great-firewall",
    "liu-xiaobo",
    "li-wenliang",
    "great-leap-famine",
    "cultural-revolution",
    "urumqi-fire-protests",
    "peng-shuai",
    "south-china-sea-ruling",
}


@pytest.fixture(scope="module")
def probe_set():  # type: ignore[no-untyped-def]
    return load_probe_set()


def test_at_least_forty_topics_with_target_and_control(probe_set) -> None:  # type: ignore[no-untyped-def]
    assert len(probe_set.topics) >= 40
    for topic in probe_set.topics:
        assert topic.target.id == f"{topic.id}.target"
        assert topic.control.id == f"{topic.id}.control"
        assert topic.target.split == topic.control.split, "a pair must stay together in one split"


def test_every_probe_is_asked_in_all_three_languages(probe_set) -> None:  # type: ignore[no-untyped-def]
    for probe in probe_set.probes:
        assert set(probe.prompts) == set(LANGS)
        assert all(probe.prompts[lang].strip() for lang in LANGS)
        assert len({probe.prompts[lang] for lang in LANGS}) >= 2, f"{probe.id}: translations are identical"


def test_topics_and_neutral_questions_have_key_facts_in_every_language(probe_set) -> None:  # type: ignore[no-untyped-def]
    for probe in probe_set.probes:
        if probe.arm in ("target", "control", "neutral"):
            assert probe.facts, probe.id
            for fact in probe.facts:
                assert all(fact.synonyms[lang] for lang in LANGS), probe.id


def test_ids_are_unique_and_stable(probe_set) -> None:  # type: ignore[no-untyped-def]
    ids = [probe.id for probe in probe_set.probes]
    assert len(ids) == len(set(ids))
    assert {topic.id for topic in probe_set.topics} >= STABLE_TOPIC_IDS
    assert probe_set.get("tiananmen-1989.target").arm == "target"


def test_neutral_and_harm_counts(probe_set) -> None:  # type: ignore[no-untyped-def]
    assert len(probe_set.select(arms=["neutral"])) >= 20
    assert len(probe_set.select(arms=["harm"])) >= 20
    assert all(not probe.facts for probe in probe_set.select(arms=["harm"]))


def test_about_a_quarter_is_dev(probe_set) -> None:  # type: ignore[no-untyped-def]
    for arm in ("target", "neutral", "harm"):
        probes = probe_set.select(arms=[arm])
        dev_share = sum(probe.split == "dev" for probe in probes) / len(probes)
        assert 0.15 <= dev_share <= 0.35, f"{arm}: dev share {dev_share:.2f}"


def test_scripts_are_right(probe_set) -> None:  # type: ignore[no-untyped-def]
    for probe in probe_set.probes:
        assert hanzidentifier.identify(probe.prompts["zh-Hant"]) in (hanzidentifier.TRADITIONAL, hanzidentifier.BOTH), (
            f"{probe.id}: zh-Hant question uses Simplified characters"
        )
        assert hanzidentifier.identify(probe.prompts["zh-Hans"]) in (hanzidentifier.SIMPLIFIED, hanzidentifier.BOTH), (
            f"{probe.id}: zh-Hans question uses Traditional characters"
        )
        for fact in probe.facts:
            for word in fact.synonyms["zh-Hant"]:
                assert hanzidentifier.identify(word) not in (hanzidentifier.SIMPLIFIED, hanzidentifier.MIXED), word
            for word in fact.synonyms["zh-Hans"]:
                assert hanzidentifier.identify(word) not in (hanzidentifier.TRADITIONAL, hanzidentifier.MIXED), word


def test_no_key_fact_is_given_away_by_its_own_question(probe_set) -> None:  # type: ignore[no-untyped-def]
    for probe in probe_set.probes:
        for lang in LANGS:
            question = probe.prompts[lang]
            for fact in probe.facts:
                leaked = [word for word in fact.synonyms[lang] if synonym_pattern(word).search(question)]
                assert not leaked, f"{probe.id} [{lang}] question already contains {leaked}"


def test_lookup_by_prompt(probe_set) -> None:  # type: ignore[no-untyped-def]
    probe = probe_set.get("taiwan-status.control")
    assert probe_set.find_by_prompt("  " + probe.prompts["zh-Hant"] + "\n") == (probe, "zh-Hant")
    assert probe_set.find_by_prompt("What is the weather like?") is None


def test_version_is_a_content_hash(probe_set, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert len(probe_set.version) == 64
    (tmp_path / "one.toml").write_text(_MINIMAL, encoding="utf-8")
    first = load_probe_set(tmp_path).version
    (tmp_path / "one.toml").write_text(_MINIMAL.replace("What is", "What was"), encoding="utf-8")
    load_probe_set.cache_clear()
    assert load_probe_set(tmp_path).version != first


_MINIMAL = """
[[neutral]]
id = "sky"
split = "eval"
en = "What is blue?"
zh-Hans = "什么是蓝色？"
zh-Hant = "什麼是藍色？"
facts = [{ en = ["sky"], zh-Hans = ["天空"], zh-Hant = ["天空"] }]
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[neutral]]\nid = 'x'\nsplit = 'dev'\n", "'en' must be non-empty"),
        (_MINIMAL.replace('split = "eval"', 'split = "test"'), "split must be"),
        (_MINIMAL.replace('zh-Hant = "什麼是藍色？"\n', ""), "'zh-Hant' must be non-empty"),
        (_MINIMAL.replace('id = "sky"', 'id = "Sky Blue"'), "lower-case words"),
        (_MINIMAL + _MINIMAL, "duplicate probe id 'sky.neutral'"),
        (_MINIMAL.replace("facts = [", "facts = [{ en = ['x'] }, "), "fact 1 must give synonyms"),
        ("[[toppic]]\n", "unknown top-level keys"),
        ("not = toml = at all", "not valid UTF-8 TOML"),
    ],
)
def test_broken_probe_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "broken.toml").write_text(text, encoding="utf-8")
    load_probe_set.cache_clear()
    with pytest.raises(ProbeSetError, match=r"broken\.toml|duplicate") as error:
        load_probe_set(tmp_path)
    assert message in str(error.value)
