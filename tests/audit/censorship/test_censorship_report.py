"""report.html: every section, charts inline, nothing fetched, model text escaped."""

from __future__ import annotations

import re

import pytest
from audit_fixtures import run_mock_audit

from uptake.audit.censorship.plan import AuditConfig
from uptake.audit.censorship.probes import Lang, Probe
from uptake.audit.censorship.report import pick_examples

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)> & \"quoted\""
SECTIONS = ("headline", "accuracy", "labels", "baselines", "topics", "coverage", "examples", "provenance")


def hostile_policy(probe: Probe, lang: Lang) -> bool:
    return probe.arm != "target"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object]]:
    config = AuditConfig.create(quick=True, langs=["en", "zh-Hans"])
    outcome, summary, _ = run_mock_audit(tmp_path_factory.mktemp("home"), config, hostile_policy)
    return outcome.folder.report_path.read_text(encoding="utf-8"), summary


def test_report_has_every_section_and_chart(report: tuple[str, dict[str, object]]) -> None:
    page, _ = report
    for section in SECTIONS:
        assert f'<section id="{section}">' in page, section
    assert page.count("<svg") >= 4, "gap, label mix, heat map and coverage charts are inline"
    assert "Censorship gap" in page and "Safety refusals" in page


def test_report_fetches_nothing(report: tuple[str, dict[str, object]]) -> None:
    page, _ = report
    assert "http" not in page.lower(), "no URL of any kind: no CDN, no fonts, no namespace links"
    assert not re.search(r"<(link|script|iframe|img|object|embed)\b", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page.replace("url(#c", "")


def test_report_names_the_model_and_how_to_reproduce(report: tuple[str, dict[str, object]]) -> None:
    page, summary = report
    reproduce = summary["reproduce"]
    assert isinstance(reproduce, dict)
    assert reproduce["model"]["sha256"] in page and reproduce["model"]["chat_template_sha256"] in page
    assert reproduce["probe_set"]["version"] in page and "Q4_K_M" in page
    assert "llama-cpp-python" in page and "uptake audit censorship mock-model" in page


def test_model_text_is_escaped(tmp_path_factory: pytest.TempPathFactory) -> None:
    from uptake.engines.mock import MockEngine

    config = AuditConfig.create(topics=["tiananmen-1989"], langs=["en"], baselines=0)
    home = tmp_path_factory.mktemp("hostile")
    from audit_fixtures import start_run

    from uptake.audit.censorship.classify import RuleClassifier
    from uptake.audit.censorship.outputs import write_outputs
    from uptake.audit.censorship.probes import load_probe_set
    from uptake.audit.censorship.runner import execute

    probe_set = load_probe_set()
    folder, settings, index = start_run(home, config, probe_set)
    outcome = execute(folder, settings, MockEngine(responder=lambda request: HOSTILE), RuleClassifier(), probe_set,
                      index)
    write_outputs(outcome, probe_set, index)
    page = folder.report_path.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<script" not in page and "<img" not in page


def test_chinese_examples_carry_the_english_question(report: tuple[str, dict[str, object]]) -> None:
    page, _ = report
    assert "response in Chinese, untranslated" in page
    assert "In English: " in page


def test_examples_cover_labels_and_languages() -> None:
    rows = [
        {"label": "refused", "arm": "target", "sample": 0, "probe_id": f"t{i}.target", "topic": f"t{i}", "lang": lang}
        for i in range(4)
        for lang in ("en", "zh-Hans")
    ]
    picked = pick_examples(rows, per_label=3)
    assert picked["answered"] == []
    refused = picked["refused"]
    assert len(refused) == 3 and len({row["topic"] for row in refused}) == 3
    assert {row["lang"] for row in refused} == {"en", "zh-Hans"}
