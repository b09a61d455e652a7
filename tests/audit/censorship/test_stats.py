"""Statistics against values computed by hand or published."""

from __future__ import annotations

import pytest

from uptake.audit.censorship.stats import (
    LabelledResult,
    PairCounts,
    answer_accuracy,
    answer_consistency,
    censorship_gap,
    fact_coverage_table,
    mcnemar_exact,
    newcombe_paired_interval,
    rates_by_group,
    wilson_interval,
)


def test_wilson_interval_hand_computed() -> None:
    # 8/10, z = 1.95996: centre (0.8 + z²/20) / (1 + z²/10) = 0.71674,
    # half-width z * sqrt(0.8*0.2/10 + z²/400) / (1 + z²/10) = 0.22657.
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.49016, abs=1e-4)
    assert high == pytest.approx(0.94331, abs=1e-4)


def test_wilson_interval_at_zero_successes() -> None:
    # With no successes the upper bound is z² / (n + z²) = 3.84146 / 13.84146.
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx(0.27753, abs=1e-4)


def test_wilson_interval_edge_cases() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_mcnemar_exact_hand_computed() -> None:
    # 6 vs 16 discordant pairs: 2 * sum_{k<=6} C(22, k) / 2**22 = 2 * 110056 / 4194304.
    assert mcnemar_exact(6, 16) == pytest.approx(2 * 110056 / 2**22, rel=1e-9)
    assert mcnemar_exact(16, 6) == pytest.approx(mcnemar_exact(6, 16))
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 0) == pytest.approx(2 / 2**5)


def test_newcombe_paired_interval_published_example() -> None:
    # Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017), chapter 8:
    # the paired table [[59, 6], [16, 80]] gives -0.0621 (95% CI -0.1186 to -0.0046).
    low, high = newcombe_paired_interval(PairCounts(both=59, target_only=6, control_only=16, neither=80))
    assert low == pytest.approx(-0.1186, abs=1e-4)
    assert high == pytest.approx(-0.0046, abs=1e-4)


def test_newcombe_interval_without_pairs() -> None:
    assert newcombe_paired_interval(PairCounts(0, 0, 0, 0)) == (-1.0, 1.0)


def result(topic: str, arm: str, label: str, sample: int = 0, lang: str = "en", coverage: float | None = None):  # type: ignore[no-untyped-def]
    return LabelledResult(
        probe_id=f"{topic}.{arm}",
        topic=topic,
        arm=arm,  # type: ignore[arg-type]
        lang=lang,  # type: ignore[arg-type]
        sample=sample,
        label=label,
        fact_coverage=coverage,
    )


def one_sample_audit() -> list[LabelledResult]:
    """10 topics: targets 0-5 not answered, control 0 not answered."""
    rows = []
    for index in range(10):
        topic = f"t{index}"
        rows.append(result(topic, "target", "refused" if index < 6 else "answered"))
        rows.append(result(topic, "control", "deflected" if index == 0 else "answered"))
    return rows


def test_censorship_gap_with_one_sample_per_topic() -> None:
    gap = censorship_gap(one_sample_audit(), "en")
    assert gap.method == "newcombe-paired"
    assert gap.pairs == PairCounts(both=1, target_only=5, control_only=0, neither=4)
    assert gap.gap == pytest.approx(0.5)
    assert gap.target.rate == pytest.approx(0.6) and gap.control.rate == pytest.approx(0.1)
    assert gap.mcnemar_p == pytest.approx(2 / 2**5)  # 5 vs 0 discordant pairs
    assert -1.0 <= gap.low < 0.5 < gap.high <= 1.0
    assert (gap.low, gap.high) == newcombe_paired_interval(gap.pairs)
    assert gap.topics == 10 and gap.unpaired == 0


def test_censorship_gap_counts_only_matched_pairs_of_the_language() -> None:
    rows = [
        *one_sample_audit(),
        result("t0", "target", "refused", lang="zh-Hans"),
        result("t9", "target", "refused", 1),
    ]
    gap = censorship_gap(rows, "en")
    assert gap.pairs.n == 10
    assert gap.unpaired == 1
    assert censorship_gap(rows, "zh-Hant").pairs.n == 0


def test_censorship_gap_with_several_samples_resamples_topics() -> None:
    rows = []
    for index in range(12):
        for sample in range(3):
            refused = index < 8 and sample < 2
            rows.append(result(f"t{index}", "target", "refused" if refused else "answered", sample))
            rows.append(result(f"t{index}", "control", "answered", sample))
    gap = censorship_gap(rows, "en")
    assert gap.method == "topic-bootstrap"
    assert gap.gap == pytest.approx(16 / 36)
    assert gap.low <= gap.gap <= gap.high
    assert gap.low > 0.0
    assert censorship_gap(rows, "en") == gap, "a fixed seed makes the interval reproducible"
    # The sign test on topics: 8 topics higher on target, none lower.
    assert gap.mcnemar_p == pytest.approx(2 / 2**8)


def test_rates_by_group_use_wilson_intervals() -> None:
    rows = [result("t0", "target", label, sample) for sample, label in enumerate(["refused", "answered", "deflected"])]
    (rate,) = rates_by_group(rows)
    assert (rate.topic, rate.lang, rate.arm) == ("t0", "en", "target")
    assert (rate.non_answer.successes, rate.non_answer.n) == (2, 3)
    assert (rate.non_answer.low, rate.non_answer.high) == wilson_interval(2, 3)
    assert rate.labels == {"refused": 1, "answered": 1, "deflected": 1}


def test_answer_consistency_over_samples() -> None:
    rows = [
        *(result("a", "target", "answered", s) for s in range(3)),
        *(result("b", "target", label, s) for s, label in enumerate(["answered", "refused", "answered"])),
        *(result("c", "target", "state_narrative", s) for s in range(3)),
    ]
    categories = {item.probe_id: item.category for item in answer_consistency(rows)}
    assert categories == {"a.target": "always", "b.target": "sometimes", "c.target": "never"}


def test_fact_coverage_table_means() -> None:
    rows = [
        result("t0", "target", "answered", 0, coverage=0.8),
        result("t0", "target", "refused", 1, coverage=0.0),
        result("t0", "control", "answered", 0, coverage=0.6),
        result("t1", "target", "answered", 0, coverage=None),
    ]
    cells: dict[tuple[str, str], tuple[float, int]] = {
        (cell.topic, cell.arm): (cell.mean, cell.n) for cell in fact_coverage_table(rows)
    }
    assert cells.keys() == {("t0", "target"), ("t0", "control")}
    assert cells[("t0", "target")][0] == pytest.approx(0.4) and cells[("t0", "target")][1] == 2
    assert cells[("t0", "control")][0] == pytest.approx(0.6) and cells[("t0", "control")][1] == 1


def test_labelled_result_from_a_results_row() -> None:
    row = {"probe_id": "t0.target", "topic": "t0", "arm": "target", "lang": "zh-Hant", "label": "refused"}
    parsed = LabelledResult.from_record({**row, "sample": 2, "fact_coverage": 0.25})
    assert parsed.non_answer and parsed.sample == 2 and parsed.fact_coverage == 0.25
    with pytest.raises(Exception, match="arm 'treatment'"):
        LabelledResult.from_record({**row, "arm": "treatment"})


def test_answer_accuracy_separates_answering_from_answering_right() -> None:
    # Targets: 4 responses, 3 answered, of which coverage 0.5 and 1/3 are accurate (>= 1/3) and 0.0 is not.
    # Controls: 2 responses, both answered and accurate. A harm row and a row without facts are left out.
    rows = [
        result("t0", "target", "answered", coverage=0.5),
        result("t1", "target", "answered", coverage=1 / 3),
        result("t2", "target", "answered", coverage=0.0),
        result("t3", "target", "refused", coverage=0.0),
        result("t0", "control", "answered", coverage=0.8),
        result("t1", "control", "answered", coverage=0.4),
        result("h0", "harm", "answered", coverage=None),
        result("t4", "target", "answered", coverage=None),
    ]
    cells = {cell.arm: cell for cell in answer_accuracy(rows)}
    assert cells.keys() == {"target", "control"}
    target, control = cells["target"], cells["control"]
    assert (target.responses, target.answered) == (4, 3)
    assert (target.accurate.successes, target.accurate.n) == (2, 3)
    assert (target.informative.successes, target.informative.n) == (2, 4)
    assert target.mean_coverage_answered == pytest.approx((0.5 + 1 / 3 + 0.0) / 3)
    assert (control.accurate.successes, control.informative.successes, control.responses) == (2, 2, 2)
    low, high = wilson_interval(2, 3)
    assert (target.accurate.low, target.accurate.high) == (pytest.approx(low), pytest.approx(high))
