"""`uptake task` as users run it: the installed program in its own process, on a tiny real GGUF model.

The tiny model's weights are random, so its answers are grammar-valid JSON of no meaning: these tests
check the command's contract (files, statuses, resume after a real kill), not the model's quality.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from polling import wait_for
from task_files import SCHEMA, many_rows, write_task
from tiny_gguf import write_tiny_gguf

UPTAKE = Path(sys.executable).with_name("uptake")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("model") / "tiny.gguf")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return os.environ.copy() | {"UPTAKE_HOME": str(tmp_path / "home"), "UPTAKE_THREADS": "1"}


def uptake(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(UPTAKE), *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def test_validate_prints_counts_and_a_broken_file_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_task(tmp_path / "task")
    done = uptake("task", "validate", str(path), "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rows"] == 8 and report["by_language"] == {"en": 5, "zh-Hans": 3} and report["gold"] == 8
    broken = write_task(tmp_path / "broken", gates=["category.f2 >= 0.5"])
    done = uptake("task", "validate", str(broken), env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "gates.0" in done.stderr and " line " in done.stderr


def test_run_writes_every_file_and_exits_by_the_gates(tmp_path: Path, tiny: Path, env: dict[str, str]) -> None:
    path = write_task(tmp_path / "task", gates=["category.macro_f1 >= 0"])
    out = tmp_path / "run"
    done = uptake("task", "run", str(path), "--model", str(tiny), "--out", str(out), "--json", env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["counts"]["done"] == 8 and summary["counts"]["missing"] == 0
    assert summary["validity"]["constrained"] is True
    for name in ("run.json", "rows.jsonl", "results.jsonl", "review.jsonl", "errors.jsonl", "summary.json"):
        assert (out / name).is_file(), name
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "mini-triage" in report and "<script" not in report
    failing = write_task(tmp_path / "failing", gates=["category.accuracy > 1"])
    done = uptake("task", "run", str(failing), "--model", str(tiny), "--limit", "2", env=env)
    assert done.returncode == 4, done.stderr
    assert "FAIL" in done.stdout


def test_kill_9_then_resume_leaves_no_duplicate_and_no_missing_row(tmp_path: Path, tiny: Path,
                                                                      env: dict[str, str]) -> None:
    rows = many_rows(240)
    schema = json.loads(json.dumps(SCHEMA))
    schema["properties"]["location"] = {"type": ["string", "null"], "maxLength": 300}  # rows that take a while
    output = {"max_tokens": 96, "schema": schema}
    path = write_task(tmp_path / "task", rows=rows, output=output, gold=None, gates=[])
    out = tmp_path / "run"
    journal = out / "rows.jsonl"

    def journaled() -> int:
        return len(journal.read_bytes().splitlines()) if journal.exists() else 0

    process = subprocess.Popen([str(UPTAKE), "task", "run", str(path), "--model", str(tiny), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        wait_for(lambda: journaled() >= 20 or process.poll() is not None, what="rows in the journal", timeout_s=120)
        assert process.poll() is None, "the run finished before it could be killed; give it more rows"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    before = journaled()
    assert 20 <= before < len(rows)
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    done = uptake("task", "run", str(path), "--resume", str(out), "--json", env=env)
    assert done.returncode == 0, done.stderr
    ids = [json.loads(line)["id"] for line in journal.read_text(encoding="utf-8").splitlines()]
    assert len(ids) == len(set(ids)), "a row was journaled twice"
    assert sorted(ids) == sorted(row[0] for row in rows), "a row is missing"
    summary = json.loads(done.stdout)
    assert summary["run_id"] == run_id and summary["counts"]["missing"] == 0
    assert summary["speed"]["rows_run"] <= len(rows) - before + 1  # only what the journal lacked (+ a cut line)


def test_resume_refuses_new_settings_and_unknown_runs(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_task(tmp_path / "task")
    done = uptake("task", "run", str(path), "--resume", "nope", "--limit", "3", env=env)
    assert done.returncode == 2 and "--limit" in done.stderr
    done = uptake("task", "run", str(path), "--resume", "nope", env=env)
    assert done.returncode == 2 and "no task run 'nope'" in done.stderr


def test_list_shows_the_built_in_tasks(env: dict[str, str]) -> None:
    done = uptake("task", "list", "--json", env=env)
    assert done.returncode == 0, done.stderr
    names = {task["name"] for task in json.loads(done.stdout)}
    assert {"reviews-sentiment", "hotline-triage", "maintenance-log", "clinic-intake", "benefit-application"} <= names
