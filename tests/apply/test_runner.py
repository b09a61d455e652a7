"""The runner's own logic on the scripted mock engine: statuses, the journal, resume, abstention, gates.

The mock answers each row with a reply chosen by its text; its tokens are the reply's space-separated
words, and the word at position k has log-probability -0.1 * (k + 1), so confidences are known exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from task_files import ROWS, write_task
from uptake.apply.runner import RunOptions, create_run, execute, write_outputs
from uptake.apply.summary import build_summary, report_rows, speed_record
from uptake.apply.taskfile import load_task
from uptake.engines.base import GenerationRequest
from uptake.engines.mock import MockEngine
from uptake.errors import UsageError
from uptake.executors.local import LocalExecutor


def answer(category: str, urgency: str, location: str | None, pad: int = 0) -> str:
    """A reply whose category word sits at position 1 + pad (each pad adds an empty word)."""
    return '{"category":' + " " * (pad + 1) + json.dumps({"c": category})[6:-1] + ', "urgency": "' + urgency + \
        '", "location": ' + json.dumps(location, ensure_ascii=False) + "}"


GOOD = {text: answer(category, urgency, location) for _, _, text, category, urgency, location in ROWS}


def responder_with(overrides: dict[str, str]) -> Any:
    def respond(request: GenerationRequest) -> str:
        text = request.messages[-1].content.split("：", 1)[-1].split(": ", 1)[-1]
        return overrides.get(text, GOOD[text])

    return respond


def run_task(tmp_path: Path, engine: MockEngine, **task_changes: Any) -> tuple[Any, dict[str, Any]]:
    task = load_task(write_task(tmp_path / "task", **task_changes))
    folder, settings = create_run(task, RunOptions(), {"kind": "local"}, {"name": "mock", "sha256": None},
                                  command="test", home=tmp_path / "home")
    engine.start()
    outcome = execute(task, folder, settings, LocalExecutor(engine))
    summary = build_summary(task, settings, outcome.rows, outcome.gold, selected=len(outcome.selected),
                            speed=speed_record(outcome.rows, outcome.generated, outcome.wall_s, 0), finished_at="now")
    return outcome, summary


def test_every_status_is_counted_and_scored_as_it_should_be(tmp_path: Path) -> None:
    overrides = {
        ROWS[1][2]: "this is not json",  # r02 -> invalid
        ROWS[2][2]: answer("weather", "low", None),  # r03 -> invalid (not in the enum)
        ROWS[3][2]: answer("water", "high", "King Street", pad=5),  # r04 -> category at position 6: exp(-0.7)
        ROWS[4][2]: answer("noise", "medium", "人民路"),  # r05 -> a wrong label, confidently
    }
    engine = MockEngine(responder=responder_with(overrides))
    outcome, summary = run_task(tmp_path, engine, rows=ROWS, extra_input_lines=('{"lang": "en", "text": "no id"}',))
    by_id = {row["id"]: row for row in outcome.rows}
    assert by_id["r02"]["status"] == "invalid" and "not JSON" in by_id["r02"]["reason"]
    assert by_id["r03"]["status"] == "invalid" and "weather" in by_id["r03"]["reason"]
    assert by_id["r04"]["status"] == "review"
    assert by_id["r04"]["confidence"]["category"] == pytest.approx(math.exp(-0.7), abs=1e-6)
    assert by_id["r01"]["confidence"]["category"] == pytest.approx(math.exp(-0.2), abs=1e-6)
    assert by_id["line-9"]["status"] == "error" and "no 'id'" in by_id["line-9"]["reason"]
    assert summary["counts"] == {"rows": 9, "done": 9, "ok": 5, "review": 1, "invalid": 2, "error": 1, "missing": 0}
    # category over the 8 gold rows: right on r01, r04, r06, r07, r08; r02, r03 missing; r05 wrong -> 5/8
    accuracy = summary["metrics"]["all"]["category"]["metrics"]["accuracy"]
    assert accuracy["value"] == pytest.approx(5 / 8) and accuracy["n"] == 8
    # answered rows (status ok): r01, r05, r06, r07, r08 -> 4 of 5 right
    assert summary["metrics"]["answered"]["category"]["metrics"]["accuracy"]["value"] == pytest.approx(4 / 5)
    assert summary["validity"]["rate"] == pytest.approx(6 / 8)
    assert summary["abstention"]["review"] == 1 and summary["abstention"]["coverage"] == pytest.approx(5 / 9, abs=1e-4)
    assert summary["confusion"]["category"]["matrix"][0][0] >= 1
    gate = summary["gates"][0]
    assert gate["expression"] == "category.macro_f1 >= 0.5" and gate["passed"] is (gate["value"] >= 0.5)


def test_a_failed_gate_makes_the_run_fail(tmp_path: Path) -> None:
    _, summary = run_task(tmp_path, MockEngine(responder=responder_with({})), gates=["urgency.accuracy > 1"])
    assert summary["gates"][0]["value"] == 1.0 and summary["gates"][0]["passed"] is False
    assert summary["passed"] is False


def test_outputs_hold_accepted_review_and_error_rows_apart(tmp_path: Path) -> None:
    overrides = {ROWS[1][2]: "nope", ROWS[3][2]: answer("water", "high", "King Street", pad=5)}
    outcome, summary = run_task(tmp_path, MockEngine(responder=responder_with(overrides)))
    write_outputs(outcome.folder, outcome.rows, summary, "<html></html>")
    read = {name: [json.loads(line) for line in outcome.folder.output_path(name).read_text().splitlines()]
            for name in ("results", "review", "errors")}
    assert sorted(row["id"] for row in read["results"]) == ["r01", "r03", "r05", "r06", "r07", "r08"]
    assert [row["id"] for row in read["review"]] == ["r04"]
    assert [row["id"] for row in read["errors"]] == ["r02"]
    assert json.loads(outcome.folder.summary_path.read_text())["counts"]["ok"] == 6


def test_resume_runs_only_the_rows_the_journal_lacks(tmp_path: Path) -> None:
    task = load_task(write_task(tmp_path / "task"))
    folder, settings = create_run(task, RunOptions(), {"kind": "local"}, None, command="test", home=tmp_path)
    first = MockEngine(responder=responder_with({}))
    first.start()
    execute(task, folder, settings, LocalExecutor(first))
    lines = folder.journal_path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = lines[:5]
    folder.journal_path.write_text("".join(kept) + lines[5][: len(lines[5]) // 2], encoding="utf-8")  # a cut write
    second = MockEngine(responder=responder_with({}))
    second.start()
    outcome = execute(task, folder, settings, LocalExecutor(second))
    assert len(second.requests) == len(ROWS) - 5
    ids = [json.loads(line)["id"] for line in folder.journal_path.read_text(encoding="utf-8").splitlines()]
    assert sorted(ids) == sorted(row[0] for row in ROWS) and len(ids) == len(set(ids))
    assert outcome.complete


def test_gold_that_does_not_match_the_input_is_refused_before_any_generation(tmp_path: Path) -> None:
    gold = [{"id": row[0], "category": row[3], "urgency": row[4], "location": row[5]} for row in ROWS[:-1]]
    gold.append({"id": "zz-stranger", "category": "noise", "urgency": "low", "location": None})
    engine = MockEngine(responder=responder_with({}))
    with pytest.raises(UsageError, match=r"gold ids do not match.*r08.*zz-stranger"):
        run_task(tmp_path, engine, gold_rows=gold)
    assert engine.requests == []


def test_the_shared_prefix_is_the_same_for_every_row_of_a_language(tmp_path: Path) -> None:
    engine = MockEngine(responder=responder_with({}))
    run_task(tmp_path, engine)
    english = [request for request in engine.requests if request.system and request.system.startswith("Classify")]
    assert len(english) == 5
    assert len({(request.system, request.messages[:-1]) for request in english}) == 1
    assert all(request.json_schema is not None and request.logprobs == 0 for request in english)


def test_report_rows_carry_their_gold(tmp_path: Path) -> None:
    outcome, _ = run_task(tmp_path, MockEngine(responder=responder_with({})))
    rows = report_rows(outcome.rows, outcome.gold)
    assert {row["id"]: row["gold"]["category"] for row in rows}["r02"] == "water"
