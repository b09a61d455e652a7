"""A task run against `uptake serve` over HTTP (in this process, on a real socket): the same rows, statuses
and confidences as on the engine directly; output the schema rejects is counted, not dropped; failures
that may pass are retried."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_support import LiveServer, registry_of

from task_files import ROWS, write_task
from uptake.apply.runner import RunOptions, create_run, execute
from uptake.apply.summary import build_summary, speed_record
from uptake.apply.taskfile import load_task
from uptake.engines.base import GenerationRequest
from uptake.engines.mock import MockEngine
from uptake.executors.http import HttpExecutor
from uptake.serve.app import create_app


def reply_for(request: GenerationRequest) -> str:
    text = request.messages[-1].content.split("：", 1)[-1].split(": ", 1)[-1]
    row = next(row for row in ROWS if row[2] == text)
    if row[0] == "r02":
        return '{"category": "weather"}'  # a server that does not enforce the schema may answer this
    location = json.dumps(row[5], ensure_ascii=False)
    return '{"category": "' + row[3] + '", "urgency": "' + row[4] + '", "location": ' + location + "}"


def run_over_http(tmp_path: Path, executor: HttpExecutor) -> dict[str, Any]:
    task = load_task(write_task(tmp_path / "task"))
    folder, settings = create_run(task, RunOptions(), executor.describe(), None, command="test", home=tmp_path)
    outcome = execute(task, folder, settings, executor)
    return build_summary(task, settings, outcome.rows, outcome.gold, selected=len(outcome.selected),
                         speed=speed_record(outcome.rows, outcome.generated, outcome.wall_s, 0), finished_at="now") | {
        "rows": {row["id"]: row for row in outcome.rows}}


def test_a_task_runs_against_uptake_serve(tmp_path: Path) -> None:
    engine = MockEngine(responder=reply_for, parallel=4)
    models = registry_of(engine)
    with LiveServer(create_app(models)) as base_url:
        summary = run_over_http(tmp_path, HttpExecutor(base_url, "tiny", concurrency=3))
    models.close()
    rows = summary["rows"]
    assert summary["counts"]["done"] == len(ROWS)
    assert rows["r02"]["status"] == "invalid" and "weather" not in (rows["r02"]["output"] or {})
    assert summary["counts"]["invalid"] == 1 and summary["validity"]["rate"] == pytest.approx(7 / 8)
    # the mock's second word carries the category, at log-probability -0.2: it came through the wire
    assert rows["r01"]["confidence"]["category"] == pytest.approx(math.exp(-0.2), abs=1e-6)
    assert summary["metrics"]["all"]["category"]["metrics"]["accuracy"]["value"] == pytest.approx(7 / 8)
    sent = engine.requests[0]
    assert sent.json_schema is not None and sent.json_schema["properties"]["category"]["enum"] == ["noise", "roads",
                                                                                                     "water"]
    assert sent.temperature == 0.0 and sent.logprobs == 0


def test_failures_that_may_pass_are_retried_and_others_are_error_rows(tmp_path: Path) -> None:
    attempts: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        text = body["messages"][-1]["content"]
        attempts[text] = attempts.get(text, 0) + 1
        if "Oak Lane" in text:
            return httpx.Response(400, json={"error": {"message": "bad request"}})
        if attempts[text] < 3:
            return httpx.Response(503, json={"error": {"message": "busy"}})
        reply = reply_for(GenerationRequest.from_prompt(text))
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": reply},
                                                      "finish_reason": "stop"}],
                                         "usage": {"prompt_tokens": 10, "completion_tokens": 5}})

    executor = HttpExecutor("http://server.test", "m", concurrency=2, backoff_s=0.001,
                            transport=httpx.MockTransport(handler))
    summary = run_over_http(tmp_path, executor)
    rows = summary["rows"]
    assert rows["r02"]["status"] == "error" and "HTTP 400" in rows["r02"]["reason"]
    assert all(rows[row[0]]["status"] == "ok" for row in ROWS if row[0] != "r02")
    assert executor.retried == 2 * (len(ROWS) - 1)
    assert all(row["confidence"] == {"category": None} for row in rows.values() if row["status"] == "ok")
    assert summary["abstention"]["confidence_unavailable"] == len(ROWS) - 1
