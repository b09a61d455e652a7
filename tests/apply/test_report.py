"""report.html of a task run: every section, numbers where they belong, model text escaped, nothing fetched."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from uptake.apply.report import RAW_CHARS, render_report

HOSTILE = "<script>alert(1)</script>"


def metric(value: float, low: float, high: float, n: int) -> dict[str, Any]:
    return {"value": value, "low": low, "high": high, "n": n}


def field_metrics(accuracy: float, n: int) -> dict[str, Any]:
    return {
        "category": {"type": "enum", "metrics": {"accuracy": metric(accuracy, accuracy - 0.05, accuracy + 0.04, n),
                                                 "macro_f1": metric(0.78, 0.74, 0.82, n)}},
        "urgent": {"type": "boolean", "metrics": {"accuracy": metric(0.9, 0.85, 0.93, n)}},
    }


def make_summary() -> dict[str, Any]:
    return {
        "version": 1,
        "task": {"name": "hotline-triage", "sector": "governance", "description": "Route citizen hotline calls.",
                 "notice": "Synthetic data; not for clinical use", "synthetic": True,
                 "languages": ["en", "zh-Hans", "zh-Hant"], "input_fields": ["text"], "sha256": "f" * 64},
        "run_id": "20261203-181500-ab12", "started_at": "2026-12-03T18:15:00Z", "finished_at": "2026-12-03T18:20:12Z",
        "model": {"name": "qwen2.5-coder:0.5b", "sha256": "0123456789abcdef" * 4},
        "backend": {"kind": "local", "endpoint": None, "parallel": 8},
        "counts": {"rows": 6, "done": 6, "ok": 2, "review": 2, "invalid": 1, "error": 1, "missing": 0},
        "validity": {"schema_valid": 5, "checked": 6, "rate": 5 / 6},
        "metrics": {
            "all": field_metrics(0.81, 6),
            "answered": field_metrics(0.86, 4),
            "by_language": {"en": field_metrics(0.7, 2), "zh-Hans": field_metrics(0.6, 2),
                            "zh-Hant": field_metrics(0.5, 2)},
        },
        "confusion": {
            "category": {"labels": ["noise", "roads", HOSTILE, "(none)"],
                         "matrix": [[3, 2, 0, 1], [0, 4, 0, 0], [1, 0, 5, 0], [0, 0, 0, 0]]},
            "urgent": {"labels": ["false", "true", "(none)"], "matrix": [[7, 1, 0], [2, 6, 1], [0, 0, 0]]},
        },
        "gates": [
            {"expression": "category.macro_f1 >= 0.8", "scope": "all", "field": "category", "metric": "macro_f1",
             "op": ">=", "threshold": 0.8, "value": 0.78, "low": 0.74, "high": 0.82, "passed": False},
            {"expression": "urgent.accuracy >= 0.7", "scope": "answered", "field": "urgent", "metric": "accuracy",
             "op": ">=", "threshold": 0.7, "value": 0.9, "low": 0.85, "high": 0.93, "passed": True},
        ],
        "passed": False,
        "abstention": {"fields": ["category"], "threshold": 0.5, "review": 2, "coverage": 4 / 6,
                       "accuracy_answered": metric(0.85, 0.8, 0.88, 4),
                       "accuracy_abstained": metric(0.5, 0.38, 0.62, 2)},
        "speed": {"wall_s": 312.4, "rows_per_minute": 92.1, "prompt_tokens": 120000, "completion_tokens": 30000,
                  "peak_rss_bytes": 812000000},
        "uptake_version": "0.1.0", "packages": {"llama-cpp-python": "0.3.36"},
    }


def row(row_id: str, lang: str, status: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": row_id, "lang": lang, "status": status, "input": {"text": f"call {row_id}"},
        "output": {"category": "noise", "urgent": False}, "raw": '{"category": "noise", "urgent": false}',
        "reason": None, "confidence": {"category": 0.93, "urgent": 0.88},
        "gold": {"category": "noise", "urgent": False}, "hard": [], "prompt_tokens": 210, "completion_tokens": 40,
    }
    return base | extra


def make_rows() -> list[dict[str, Any]]:
    return [
        row("hotline-en-0001", "en", "ok"),
        row("hotline-zh-Hans-0002", "zh-Hans", "ok", input={"text": HOSTILE}, output={"category": HOSTILE}),
        row("hotline-zh-Hant-0003", "zh-Hant", "review", confidence={"category": 0.31, "urgent": 0.9},
            gold={"category": "roads", "urgent": True}),
        row("hotline-en-0004", "en", "review", confidence={"category": 0.42}),
        row("hotline-zh-Hans-0005", "zh-Hans", "invalid", output=None, raw="x" * 500,
            reason="category: 'potholes' is not one of the labels"),
        row("hotline-en-0006", "en", "error", output=None, raw=HOSTILE, reason="timed out after 60 s"),
    ]


class PageParser(HTMLParser):
    """Every start tag with its attributes, and the text of each confusion-matrix cell."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: dict[tuple[str, str, str], str] = {}
        self._field = ""
        self._cell: tuple[str, str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag == "table" and found.get("data-field"):
            self._field = str(found["data-field"])
        if tag == "td" and "data-gold" in found:
            self._cell = (self._field, str(found["data-gold"]), str(found["data-pred"]))
            self.cells[self._cell] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self.cells[self._cell] += data


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, re.DOTALL)
    assert match, f"no section {name}"
    return match.group(1)


@pytest.fixture(scope="module")
def page() -> str:
    return render_report(make_summary(), make_rows())


def test_header_names_the_task_model_and_verdict(page: str) -> None:
    assert '<p class="notice">Synthetic data; not for clinical use</p>' in page
    assert "hotline-triage" in page and "governance" in page and "qwen2.5-coder:0.5b" in page
    assert ">0123456789ab</span>" in page, "the model's sha256 is cut to 12 characters"
    assert "20261203-181500-ab12" in page and "2026-12-03T18:20:12Z" in page
    assert "FAIL: 1 of 2 gates failed" in page


def test_gates_say_which_passed(page: str) -> None:
    gates = section(page, "gates")
    failed = re.search(r"<tr><td>category\.macro_f1 &gt;= 0\.8</td>(.*?)</tr>", gates)
    passed = re.search(r"<tr><td>urgent\.accuracy &gt;= 0\.7</td>(.*?)</tr>", gates)
    assert failed and passed
    assert "0.780 (0.740–0.820)" in failed.group(1) and '<span class="fail">fail</span>' in failed.group(1)
    assert '<td class="num">0.8</td>' in failed.group(1)
    assert '<span class="pass">pass</span>' in passed.group(1)


def test_counts_and_metrics(page: str) -> None:
    counts = section(page, "counts")
    assert "<tr><td>invalid</td><td class=\"num\">1</td></tr>" in counts
    assert "83.3% (5 of 6)" in counts
    metrics = section(page, "metrics")
    assert "<tr><td>category</td><td>enum</td><td>accuracy</td><td class=\"num\">0.810 (0.760–0.850)</td>" in metrics
    assert "0.860 (0.810–0.900)" in metrics, "the answered scope"
    assert "<tr><td>zh-Hant</td><td>category</td><td>enum</td><td>accuracy</td>" in metrics
    assert "0.500 (0.450–0.540)" in metrics


def test_confusion_cells_hold_their_counts(page: str) -> None:
    cells = parse(page).cells
    assert cells[("category", "noise", "roads")] == "2"
    assert cells[("category", "noise", "(none)")] == "1"
    assert cells[("category", HOSTILE, HOSTILE)] == "5", "a label is escaped in text and attributes alike"
    assert cells[("urgent", "true", "false")] == "2"
    assert ("category", "(none)", "noise") not in cells, "the empty (none) gold row is left out"
    assert re.search(r'data-gold="roads" data-pred="roads" style="background: rgba\(37, 99, 235, 0\.56\)"', page)


def test_abstention_and_review_queue(page: str) -> None:
    abstention = section(page, "abstention")
    assert "66.7%" in abstention and "0.500 (0.380–0.620), n = 2" in abstention
    review = section(page, "review")
    assert "hotline-zh-Hant-0003" in review and "hotline-en-0004" in review
    assert "hotline-en-0001" not in review
    assert "category: 0.31" in review and "&quot;roads&quot;" in review


def test_errors_show_reason_and_cut_raw_output(page: str) -> None:
    errors = section(page, "errors")
    assert "hotline-zh-Hans-0005" in errors and "timed out after 60 s" in errors
    assert "x" * RAW_CHARS + " […]" in errors and "x" * (RAW_CHARS + 1) not in errors
    assert "hotline-zh-Hant-0003" not in errors


def test_speed_and_footer(page: str) -> None:
    speed = section(page, "speed")
    assert "92.1" in speed and "312.4 s" in speed and "120,000" in speed and "774.4 MiB" in speed
    assert "uptake 0.1.0" in page and "llama-cpp-python 0.3.36" in page


def test_untrusted_text_is_escaped(page: str) -> None:
    assert "<script" not in page.lower()
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4, "input, output, raw output and label"
    assert not [tag for tag, _ in parse(page).tags if tag == "script"]


def test_page_loads_nothing(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    for tag, attrs in parse(page).tags:
        assert not {"src", "href"} & attrs.keys(), tag
        assert tag not in ("link", "script", "iframe", "img", "object", "embed")
    assert "@import" not in page and "url(" not in page


def test_without_abstention_or_confusion() -> None:
    summary = make_summary()
    summary["abstention"] = None
    del summary["confusion"]
    rows = [r for r in make_rows() if r["status"] != "review"]
    page = render_report(summary, rows)
    assert "does not abstain" in section(page, "abstention")
    assert 'id="confusion"' not in page and 'id="review"' not in page
    assert "0.810 (0.760–0.850)" in page


def test_a_passing_run_and_a_sparse_summary() -> None:
    summary = make_summary()
    for gate in summary["gates"]:
        gate["passed"] = True
    summary["passed"] = True
    assert "PASS: all 2 gates passed" in render_report(summary, [])
    sparse = {"task": {"name": "t"}, "metrics": {"all": {"location": {"type": "string"}}}, "gates": []}
    page = render_report(sparse, [])
    assert "No gates set" in page and "no gold labels" in page
