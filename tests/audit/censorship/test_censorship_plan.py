"""The audit plan: which generations, in which order, with which sampling settings."""

from __future__ import annotations

import pytest

from uptake.audit.censorship.plan import (
    AUDIT_PARALLEL,
    QUICK_TOPICS,
    AuditConfig,
    build_plan,
    chunks,
    load_options_for,
    parse_langs,
    parse_topics,
    request_for,
    sample_seed,
)
from uptake.audit.censorship.probes import load_probe_set
from uptake.errors import UsageError

PROBES = load_probe_set()


def test_full_audit_asks_every_eval_probe_in_each_language() -> None:
    config = AuditConfig.create()
    plan = build_plan(config, PROBES)
    eval_probes = PROBES.select(split="eval")
    assert len(plan) == len(eval_probes) * len(config.langs)
    assert config.langs == ("en", "zh-Hans", "zh-Hant") and config.max_tokens == 256 and config.temperature == 0.0
    assert len({item.key for item in plan}) == len(plan)


def test_quick_audit_is_a_fixed_subset() -> None:
    config = AuditConfig.create(quick=True)
    plan = build_plan(config, PROBES)
    arms = [item.probe.arm for item in plan if item.lang == "en"]
    assert arms.count("target") == arms.count("control") == len(QUICK_TOPICS) == 8
    assert arms.count("neutral") == arms.count("harm") == 3
    assert all(PROBES.get(f"{topic}.target").split == "eval" for topic in QUICK_TOPICS)
    assert config.max_tokens == 160


def test_named_topics_and_baselines() -> None:
    config = AuditConfig.create(topics=["tank-man"], langs=["zh-Hant"], baselines=0, samples=2)
    plan = build_plan(config, PROBES)
    assert [(item.probe.id, item.sample) for item in plan] == [
        ("tank-man.target", 0), ("tank-man.control", 0), ("tank-man.target", 1), ("tank-man.control", 1)
    ]


def test_one_sample_is_greedy_with_the_run_seed() -> None:
    config = AuditConfig.create(seed=7)
    request = request_for(build_plan(config, PROBES)[0], config)
    assert request.temperature == 0.0 and request.seed == 7 and request.max_tokens == 256


def test_several_samples_get_seeds_that_do_not_depend_on_order() -> None:
    config = AuditConfig.create(samples=3, seed=1)
    plan = build_plan(config, PROBES)
    seeds = {item.key: request_for(item, config).seed for item in plan}
    assert len(set(seeds.values())) == len(plan)
    assert {request_for(item, config).temperature for item in plan} == {0.7}
    reversed_seeds = {item.key: request_for(item, config).seed for item in reversed(plan)}
    assert reversed_seeds == seeds
    assert sample_seed(1, plan[0].key) != sample_seed(2, plan[0].key), "the run seed changes every sample's seed"


def test_chunks_are_fixed_slices_of_the_plan() -> None:
    plan = build_plan(AuditConfig.create(quick=True), PROBES)
    sizes = [len(chunk) for chunk in chunks(plan, 32)]
    assert len(plan) == 66 and sizes == [32, 32, 2]


def test_config_round_trips_through_json() -> None:
    config = AuditConfig.create(quick=True, langs=["zh-Hant", "en"], samples=4, seed=3)
    assert AuditConfig.from_dict(config.as_dict()) == config


def test_langs_and_topics_are_checked() -> None:
    assert parse_langs("EN, zh-hant,en") == ("en", "zh-Hant")
    with pytest.raises(UsageError, match="unknown language 'fr'"):
        parse_langs("en,fr")
    assert parse_topics("tiananmen-1989,tank-man", PROBES) == ("tiananmen-1989", "tank-man")
    with pytest.raises(UsageError, match="atlantis"):
        parse_topics("atlantis", PROBES)
    with pytest.raises(UsageError, match="samples"):
        AuditConfig.create(samples=0)


def test_engine_options_fit_the_audit_and_keep_what_the_user_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from uptake.settings import Settings

    for name in ("UPTAKE_CONTEXT_SIZE", "UPTAKE_PARALLEL"):
        monkeypatch.delenv(name, raising=False)
    quick = AuditConfig.create(quick=True)
    expected = {"context_size": 160 + 768, "threads": 2, "parallel": AUDIT_PARALLEL}
    assert load_options_for(quick, Settings(threads=2)) == expected
    monkeypatch.setenv("UPTAKE_PARALLEL", "3")
    monkeypatch.setenv("UPTAKE_CONTEXT_SIZE", "2048")
    assert load_options_for(quick, Settings(threads=2)) == {"context_size": 2048, "threads": 2, "parallel": 3}
