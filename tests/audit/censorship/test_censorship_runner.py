"""The audit runner on a scripted engine: known labels in, a known summary out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from audit_fixtures import REFUSALS, run_mock_audit, scripted_responder, start_run

from uptake.audit.censorship.classify import RuleClassifier
from uptake.audit.censorship.outputs import write_outputs
from uptake.audit.censorship.plan import QUICK_TOPICS, AuditConfig
from uptake.audit.censorship.probes import Lang, Probe, load_probe_set
from uptake.audit.censorship.runner import execute
from uptake.audit.censorship.summary import validate_summary
from uptake.engines.base import GenerationRequest, GenerationResult, Timings, Usage
from uptake.engines.mock import MockEngine

# English: five topics censored, two answered on both sides, one where only the control is refused.
EN_CENSORED = set(QUICK_TOPICS[:5])
EN_CONTROL_ONLY = QUICK_TOPICS[7]


def mixed_policy(probe: Probe, lang: Lang) -> bool:
    if probe.arm in ("neutral", "harm"):
        return probe.arm == "neutral"
    if lang != "en":
        return probe.arm == "control"  # Chinese: every target refused, every control answered
    if probe.topic in EN_CENSORED:
        return probe.arm == "control"
    if probe.topic == EN_CONTROL_ONLY:
        return probe.arm == "target"
    return True


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    config = AuditConfig.create(quick=True, langs=["en", "zh-Hans"], chunk_size=8)
    return run_mock_audit(tmp_path_factory.mktemp("home"), config, mixed_policy)


def test_every_response_gets_the_scripted_label(mixed_run) -> None:  # type: ignore[no-untyped-def]
    outcome, _, _ = mixed_run
    probe_set = load_probe_set()
    assert outcome.status == "done" and len(outcome.rows) == len(outcome.plan) == (8 * 2 + 3 + 3) * 2
    for row in outcome.rows:
        expected = "answered" if mixed_policy(probe_set.get(row["probe_id"]), row["lang"]) else "refused"
        assert row["label"] == expected, row


def test_summary_headline_matches_hand_counts(mixed_run) -> None:  # type: ignore[no-untyped-def]
    _, summary, _ = mixed_run
    en, zh = summary["headline"]
    assert en["lang"] == "en" and en["pairs"] == {"both": 0, "target_only": 5, "control_only": 1, "neither": 2}
    assert en["gap"] == pytest.approx((5 - 1) / 8)
    # Exact McNemar on 5 vs 1 discordant pairs: 2 * (C(6,0) + C(6,1)) / 2**6.
    assert en["mcnemar_p"] == pytest.approx(14 / 64)
    assert en["low"] < en["gap"] < en["high"] and en["method"] == "newcombe-paired"
    assert zh["gap"] == 1.0 and zh["mcnemar_p"] == pytest.approx(2 / 2**8)
    assert zh["target_non_answer"]["successes"] == 8 and zh["control_non_answer"]["successes"] == 0


def test_summary_separates_safety_refusals(mixed_run) -> None:  # type: ignore[no-untyped-def]
    _, summary, _ = mixed_run
    for record in summary["baselines"]["harm"]:
        assert (record["refused"]["successes"], record["n"]) == (3, 3)
    for record in summary["baselines"]["neutral"]:
        assert (record["refused"]["successes"], record["n"]) == (0, 3)
    rates = {(rate["lang"], rate["arm"]): rate for rate in summary["rates"]}
    assert rates[("zh-Hans", "target")]["labels"]["refused"]["rate"] == 1.0
    assert rates[("en", "control")]["non_answer"]["successes"] == 1


def test_summary_topics_and_fact_coverage(mixed_run) -> None:  # type: ignore[no-untyped-def]
    _, summary, _ = mixed_run
    assert [topic["topic"] for topic in summary["topics"]] == [
        topic.id for topic in load_probe_set().topics if topic.id in QUICK_TOPICS
    ]
    censored = next(topic for topic in summary["topics"] if topic["topic"] == QUICK_TOPICS[0])
    en = next(result for result in censored["results"] if result["lang"] == "en")
    assert en["target"]["labels"]["refused"] == 1 and en["difference"] == 1.0
    coverage = {(cell["topic"], cell["lang"], cell["arm"]): cell["mean"] for cell in summary["fact_coverage"]}
    assert coverage[(QUICK_TOPICS[0], "en", "control")] == 1.0, "the scripted answer names every key fact"
    assert coverage[(QUICK_TOPICS[0], "en", "target")] == 0.0
    assert summary["consistency"] is None, "one sample: nothing to be consistent about"
    validate_summary(summary)


def test_rows_carry_everything_a_result_needs(mixed_run) -> None:  # type: ignore[no-untyped-def]
    outcome, _, _ = mixed_run
    lines = outcome.folder.results_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(outcome.rows)
    row = json.loads(lines[0])
    for field in ("probe_id", "topic", "arm", "lang", "sample", "seed", "prompt", "response", "label", "confidence",
                  "facts_covered", "fact_coverage", "lang_switch", "prompt_s", "decode_s", "finish_reason",
                  "prompt_tokens", "completion_tokens"):
        assert field in row, field


def test_generations_go_to_the_engine_in_chunks(mixed_run) -> None:  # type: ignore[no-untyped-def]
    _, _, engine = mixed_run
    assert engine.batches == [8, 8, 8, 8, 8, 4]
    assert {request.temperature for request in engine.requests} == {0.0}
    assert {request.seed for request in engine.requests} == {0}
    assert {request.max_tokens for request in engine.requests} == {160}


def test_the_run_is_recorded_in_the_index(mixed_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    outcome, summary, _ = mixed_run
    db = outcome.folder.directory.parent.parent / "uptake.db"
    with sqlite3.connect(db) as connection:
        status, model, stored, settings = connection.execute(
            "SELECT status, model_name, summary, settings FROM runs WHERE id = ?", (outcome.settings.run_id,)
        ).fetchone()
    assert (status, model) == ("done", "mock-model")
    assert json.loads(stored)["headline"] == summary["headline"]
    assert json.loads(settings)["audit"]["langs"] == ["en", "zh-Hans"]


def test_several_samples_are_sampled_with_their_own_seeds(tmp_path: Path) -> None:
    config = AuditConfig.create(topics=["tiananmen-1989", "taiwan-status"], langs=["en"], samples=3, baselines=1)
    _, summary, engine = run_mock_audit(tmp_path, config)
    assert {request.temperature for request in engine.requests} == {0.7}
    seeds = [request.seed for request in engine.requests]
    assert len(set(seeds)) == len(seeds), "every sample of every probe has its own seed"
    assert summary["headline"][0]["method"] == "topic-bootstrap"
    groups = {(group["lang"], group["arm"]): group for group in summary["consistency"]["by_group"]}
    assert groups[("en", "target")]["never"] == 2 and groups[("en", "control")]["always"] == 2
    validate_summary(summary)


FAILING_PROMPT = load_probe_set().get("tiananmen-1989.target").prompt("en")


class FlakyEngine(MockEngine):
    """Reports an engine error for one question, as a failing backend would."""

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        results = super().generate_batch(requests)
        failed = GenerationResult("", "error", Usage(0, 0), Timings(0, 0), "boom")
        return [
            failed if request.messages[-1].content == FAILING_PROMPT else result
            for request, result in zip(requests, results, strict=True)
        ]


def test_failed_generations_are_left_for_a_resume(tmp_path: Path) -> None:
    probe_set = load_probe_set()
    config = AuditConfig.create(topics=["tiananmen-1989", "taiwan-status"], langs=["en"], baselines=0)
    folder, settings, index = start_run(tmp_path, config, probe_set)
    flaky = FlakyEngine(responder=scripted_responder(probe_set, lambda probe, lang: probe.arm == "control"))
    outcome = execute(folder, settings, flaky, RuleClassifier(), probe_set, index)
    assert outcome.status == "incomplete" and outcome.failed == 1 and len(outcome.rows) == 3
    assert write_outputs(outcome, probe_set, index)["counts"]["missing"] == 1
    retry = MockEngine(replies=[REFUSALS["en"]])
    finished = execute(folder, settings, retry, RuleClassifier(), probe_set, index)
    assert finished.status == "done" and finished.generated == 1 and len(retry.requests) == 1
