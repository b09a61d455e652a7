"""`uptake audit classify` through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_fixtures import fake_judge_server
from typer.testing import CliRunner

from uptake.audit.censorship.probes import load_probe_set
from uptake.cli.main import app
from uptake.errors import UsageError

TIANANMEN = load_probe_set().get("tiananmen-1989.target")


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def rows_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_classify_keeps_fields_and_adds_labels(tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {
                "id": "r1",
                "prompt": TIANANMEN.prompt("en"),
                "response": "I'm sorry, I can't help with that.",
                "lang": "en",
            },
            {"prompt": "台灣的首都是哪裡？", "response": "台湾的首都是台北。", "lang": "zh-Hant", "model": "m"},
        ],
    )
    out = tmp_path / "deep" / "out.jsonl"
    result = CliRunner().invoke(app, ["audit", "classify", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    first, second = rows_of(out)
    assert first["id"] == "r1" and first["label"] == "refused"
    assert first["probe_id"] == TIANANMEN.id, "a probe question is recognised by its text"
    assert first["fact_coverage"] == 0.0 and first["facts_total"] == len(TIANANMEN.facts)
    assert second["model"] == "m" and second["label"] == "answered"
    assert second["lang_switch"] is True and second["response_lang"] == "zh-Hans"
    assert "fact_coverage" not in second, "no probe, no key facts"
    assert 0.0 <= float(first["confidence"]) <= 1.0  # type: ignore[arg-type]
    assert not list(out.parent.glob("*.partial")), "no temporary file is left behind"


def test_json_summary(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "q", "response": "抱歉，我无法回答。", "lang": "zh-Hans"}])
    result = CliRunner().invoke(app, ["audit", "classify", str(source), "-o", str(tmp_path / "o.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 1 and summary["labels"] == {"refused": 1} and summary["classifier"] == "rules"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"prompt": "q", "response": "r", "lang": "en"}', "{not json"], "in.jsonl line 2: not valid JSON"),
        (['{"prompt": "q", "lang": "en"}'], "in.jsonl line 1: missing field 'response'"),
        (['{"prompt": "q", "response": "r", "lang": "fr"}'], "line 1: lang 'fr' is not one of en, zh-Hans, zh-Hant"),
        (["", '["a", "list"]'], "in.jsonl line 2: expected a JSON object"),
        (['{"prompt": "q", "response": 3, "lang": "en"}'], "line 1: field 'response' must be a string"),
        ([""], "has no rows"),
    ],
)
def test_bad_rows_give_one_line_errors_with_the_line_number(tmp_path: Path, lines: list[str], message: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["audit", "classify", str(source), "--out", str(out)])
    assert isinstance(result.exception, UsageError)
    assert message in str(result.exception)
    assert "\n" not in str(result.exception)
    assert not out.exists(), "nothing is written when the input is bad"


def test_missing_input_and_judge_mode_without_judge(tmp_path: Path) -> None:
    runner = CliRunner()
    out = str(tmp_path / "o.jsonl")
    missing = runner.invoke(app, ["audit", "classify", str(tmp_path / "nope.jsonl"), "--out", out])
    assert isinstance(missing.exception, UsageError) and "does not exist" in str(missing.exception)
    source = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "q", "response": "r", "lang": "en"}])
    no_judge = runner.invoke(app, ["audit", "classify", str(source), "--out", out, "--mode", "judge"])
    assert isinstance(no_judge.exception, UsageError) and "--judge" in str(no_judge.exception)


def test_url_judge(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "q", "response": "Some answer.", "lang": "en"}])
    out = tmp_path / "out.jsonl"
    with fake_judge_server('{"label": "deflected", "confidence": 0.75}') as (url, received):
        result = CliRunner().invoke(
            app, ["audit", "classify", str(source), "--out", str(out), "--judge", url, "--judge-model", "judge-7b"]
        )
    assert result.exit_code == 0, result.output
    (row,) = rows_of(out)
    assert (row["label"], row["confidence"], row["classifier"]) == ("deflected", 0.75, f"judge:judge-7b@{url}")
    assert received[0]["model"] == "judge-7b"


def test_local_model_judge_with_unreadable_replies_falls_back_to_rules(tmp_path: Path, tiny_gguf: Path) -> None:
    # The tiny random-weight model cannot judge; its replies are noise, so the rules' labels stand.
    source = write_jsonl(
        tmp_path / "in.jsonl", [{"prompt": "q", "response": "I'm sorry, but I can't help with that.", "lang": "en"}]
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["audit", "classify", str(source), "--out", str(out), "--judge", str(tiny_gguf)])
    assert result.exit_code == 0, result.output
    (row,) = rows_of(out)
    assert row["label"] in ("refused", "answered", "deflected", "state_narrative")
    assert str(row["classifier"]).startswith(("judge:", "rules (unreadable"))
