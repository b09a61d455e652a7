"""`uptake audit compare`: runs side by side as a table, JSON and an HTML page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_fixtures import refuses_targets, run_mock_audit
from typer.testing import CliRunner

from uptake.audit.censorship.compare import compare_runs, load_summary
from uptake.audit.censorship.plan import AuditConfig
from uptake.audit.censorship.probes import Lang, Probe
from uptake.audit.censorship.runs import RunIndex
from uptake.cli.main import app
from uptake.errors import UptakeError, UsageError

CONFIG = AuditConfig.create(topics=["tiananmen-1989", "taiwan-status", "jimmy-lai"], langs=["en"], baselines=1)


def answers_everything(probe: Probe, lang: Lang) -> bool:
    return probe.arm != "harm"


@pytest.fixture
def two_runs(uptake_home: Path) -> tuple[str, str]:
    censored, _, _ = run_mock_audit(uptake_home, CONFIG, refuses_targets)
    open_model, _, _ = run_mock_audit(uptake_home, CONFIG, answers_everything)
    return censored.settings.run_id, open_model.settings.run_id


def test_compare_json_puts_runs_side_by_side(two_runs: tuple[str, str]) -> None:
    result = CliRunner().invoke(app, ["audit", "compare", *two_runs, "--json"])
    assert result.exit_code == 0, result.output
    comparison = json.loads(result.stdout)
    assert comparison["schema"] == "uptake.audit.censorship.compare" and comparison["langs"] == ["en"]
    censored, open_model = comparison["runs"]
    assert [run["id"] for run in comparison["runs"]] == list(two_runs)
    assert censored["headline"][0]["gap"] == 1.0 and open_model["headline"][0]["gap"] == 0.0
    assert censored["label"].startswith("mock-model (") and censored["label"] != open_model["label"]
    assert comparison["warnings"] == []
    # accuracy is counted among answered responses: the censored run answered no target, the open one all three
    answered_targets = [
        next(cell for cell in run["accuracy"] if cell["lang"] == "en" and cell["arm"] == "target")
        for run in (censored, open_model)
    ]
    assert [cell["accurate_of_answered"]["n"] for cell in answered_targets] == [0, 3]
    assert censored["model"]["adapter"] is None


def test_compare_table_and_html_page(two_runs: tuple[str, str], tmp_path: Path) -> None:
    page = tmp_path / "compare.html"
    result = CliRunner().invoke(app, ["audit", "compare", *two_runs, "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert two_runs[0] in result.stdout and "+100" in result.stdout
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 1 and "http" not in html.lower() and two_runs[1] in html
    assert "accurate: targets vs controls" in html and "en 0/0 vs " in html


def test_compare_warns_about_runs_that_measure_different_things(uptake_home: Path) -> None:
    first, _, _ = run_mock_audit(uptake_home, CONFIG)
    other = AuditConfig.create(topics=["tiananmen-1989"], langs=["en", "zh-Hans"], baselines=1)
    second, _, _ = run_mock_audit(uptake_home, other)
    index = RunIndex(uptake_home / "uptake.db")
    comparison = compare_runs([load_summary(run.settings.run_id, index) for run in (first, second)])
    assert comparison["langs"] == ["en", "zh-Hans"]
    assert any("topics" in warning for warning in comparison["warnings"])


def test_compare_needs_two_runs(two_runs: tuple[str, str]) -> None:
    result = CliRunner().invoke(app, ["audit", "compare", two_runs[0]])
    assert isinstance(result.exception, UsageError)


def test_compare_rejects_a_damaged_summary(two_runs: tuple[str, str], uptake_home: Path) -> None:
    index = RunIndex(uptake_home / "uptake.db")
    directory = index.directory_of(two_runs[0])
    assert directory is not None
    summary_path = directory / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    del summary["headline"]
    summary_path.write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(UptakeError, match="headline"):
        load_summary(two_runs[0], index)
