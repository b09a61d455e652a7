"""A built-in task on the real default model, as users run it: `uptake task run` in its own process, once on
the engine directly and once over HTTP against `uptake serve` (its own process too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from serve_support import serve_process

from uptake.models.catalog import load_catalog
from uptake.models.pull import pull_model
from uptake.models.store import Store
from uptake.settings import Settings

pytestmark = pytest.mark.slow
UPTAKE = Path(sys.executable).with_name("uptake")
ROWS = "24"


@pytest.fixture(scope="module")
def model_path(real_model_home: Path) -> Path:
    model, _ = pull_model(Store(Settings(home=real_model_home)), load_catalog().default)
    return model.path


def run_task(*args: str, home: Path) -> dict[str, Any]:
    env = os.environ.copy() | {"UPTAKE_HOME": str(home)}
    done = subprocess.run([str(UPTAKE), "task", "run", "reviews-sentiment", "--limit", ROWS, "--json", *args],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode in (0, 4), done.stderr[-2000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    assert (done.returncode == 4) == (summary["passed"] is False)
    return summary


def check(summary: dict[str, Any]) -> None:
    assert summary["counts"]["done"] == int(ROWS) and summary["counts"]["error"] == 0
    assert summary["validity"]["rate"] == 1.0  # the schema is enforced, so every answer is valid
    accuracy = summary["metrics"]["all"]["sentiment"]["metrics"]["accuracy"]
    assert accuracy["value"] > 0.55, accuracy  # two balanced labels: chance is 0.5; this model reaches ~0.78
    assert summary["abstention"]["confidence_unavailable"] == 0
    report = Path(summary["run_directory"]) / "report.html"
    assert report.is_file() and "reviews-sentiment" in report.read_text(encoding="utf-8")


def test_a_built_in_task_on_the_engine(model_path: Path, tmp_path: Path) -> None:
    summary = run_task("--model", str(model_path), home=tmp_path)
    check(summary)
    rows = [json.loads(line) for line in (Path(summary["run_directory"]) / "rows.jsonl").read_text().splitlines()]
    confidences = [row["confidence"]["sentiment"] for row in rows]
    assert all(0.0 < value <= 1.0 for value in confidences)
    assert len(set(confidences)) > 1  # the model's own probabilities, not a constant


def test_the_same_task_over_http_against_uptake_serve(model_path: Path, tmp_path: Path) -> None:
    with serve_process([str(model_path), "--alias", f"qwen={model_path}"], ready_timeout_s=120) as base_url:
        summary = run_task("--endpoint", base_url, "--model", "qwen", "--concurrency", "4", home=tmp_path)
    check(summary)
    assert summary["backend"]["kind"] == "http"
