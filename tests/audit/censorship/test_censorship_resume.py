"""A run stopped anywhere finishes on resume: nothing done twice, nothing lost, same rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from audit_fixtures import (
    CrashingEngine,
    refuses_targets,
    run_mock_audit,
    scripted_responder,
    stable_fields,
    start_run,
)

from uptake.audit.censorship.classify import RuleClassifier
from uptake.audit.censorship.journal import JournalError, read_journal, row_key
from uptake.audit.censorship.plan import AuditConfig
from uptake.audit.censorship.probes import load_probe_set
from uptake.audit.censorship.runner import execute, open_resume
from uptake.audit.censorship.runs import RunIndex
from uptake.engines.mock import MockEngine
from uptake.errors import UsageError

CONFIG = AuditConfig.create(quick=True, langs=["en", "zh-Hant"], samples=2, chunk_size=10)


def sorted_rows(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted((stable_fields(row) for row in rows), key=row_key)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    outcome, _, _ = run_mock_audit(tmp_path_factory.mktemp("reference"), CONFIG)
    return sorted_rows(outcome.rows)


def test_resume_after_a_crash_and_a_torn_write(tmp_path: Path, uninterrupted: list[dict[str, object]]) -> None:
    probe_set = load_probe_set()
    folder, settings, index = start_run(tmp_path, CONFIG, probe_set)
    crashing = CrashingEngine(35, responder=scripted_responder(probe_set, refuses_targets))
    with pytest.raises(RuntimeError, match="simulated crash"):
        execute(folder, settings, crashing, RuleClassifier(), probe_set, index)
    assert index.status_of(settings.run_id) == "failed"
    saved = read_journal(folder.results_path).rows
    assert len(saved) == 30, "three whole chunks were saved before the crash"
    # A crash in the middle of the next write leaves half a line behind.
    with open(folder.results_path, "a", encoding="utf-8") as journal:
        journal.write(json.dumps(saved[0])[:40])

    resumed_folder, resumed_settings = open_resume(settings.run_id, index, "uptake audit censorship --resume")
    engine = MockEngine(responder=scripted_responder(probe_set, refuses_targets))
    outcome = execute(resumed_folder, resumed_settings, engine, RuleClassifier(), probe_set, index)

    assert outcome.status == "done" and index.status_of(settings.run_id) == "done"
    assert len(engine.requests) == len(outcome.plan) - 30, "only the missing generations are made"
    lines = folder.results_path.read_text(encoding="utf-8").splitlines()
    keys = [row_key(json.loads(line)) for line in lines]
    assert len(keys) == len(set(keys)) == len(outcome.plan), "no duplicate and no torn line remains"
    assert sorted_rows(outcome.rows) == uninterrupted
    assert len(resumed_folder.read_settings().resumes) == 1


def test_resume_makes_the_same_requests_as_an_uninterrupted_run(tmp_path: Path) -> None:
    probe_set = load_probe_set()
    reference = MockEngine(responder=scripted_responder(probe_set, refuses_targets))
    folder, settings, index = start_run(tmp_path / "a", CONFIG, probe_set)
    execute(folder, settings, reference, RuleClassifier(), probe_set, index)

    folder, settings, index = start_run(tmp_path / "b", CONFIG, probe_set)
    first = CrashingEngine(20, responder=scripted_responder(probe_set, refuses_targets))
    with pytest.raises(RuntimeError):
        execute(folder, settings, first, RuleClassifier(), probe_set, index)
    second = MockEngine(responder=scripted_responder(probe_set, refuses_targets))
    execute(folder, settings, second, RuleClassifier(), probe_set, index)
    assert first.requests + second.requests == reference.requests, "same prompts, settings and seeds, same order"
    assert first.batches + second.batches == reference.batches, "the same batches as before the crash"


def test_resume_by_folder_indexes_an_unknown_run(tmp_path: Path) -> None:
    probe_set = load_probe_set()
    folder, settings, _ = start_run(tmp_path / "elsewhere", CONFIG, probe_set)
    other_index = RunIndex(tmp_path / "other.db")
    found, _ = open_resume(str(folder.directory), other_index, "resume")
    assert found.directory == folder.directory and other_index.status_of(settings.run_id) == "running"


def test_unknown_run_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no censorship audit run"):
        open_resume("20990101-000000-abcdef", RunIndex(tmp_path / "uptake.db"), "resume")


def test_one_process_per_run(tmp_path: Path) -> None:
    probe_set = load_probe_set()
    folder, settings, index = start_run(tmp_path, CONFIG, probe_set)
    with folder.lock(), pytest.raises(UsageError, match="in progress"):
        execute(folder, settings, MockEngine(), RuleClassifier(), probe_set, index)


def test_a_damaged_middle_line_is_reported(tmp_path: Path) -> None:
    journal = tmp_path / "results.jsonl"
    journal.write_text('{"probe_id": "a.target", "lang": "en", "sample": 0}\nnot json\n{}\n', encoding="utf-8")
    with pytest.raises(JournalError, match="line 2"):
        read_journal(journal)


def test_a_changed_probe_set_refuses_to_resume(tmp_path: Path) -> None:
    from dataclasses import replace

    probe_set = load_probe_set()
    folder, settings, index = start_run(tmp_path, CONFIG, probe_set)
    changed = replace(settings, probe_set_version="f" * 64)
    with pytest.raises(UsageError, match="probe set"):
        execute(folder, changed, MockEngine(), RuleClassifier(), probe_set, index)


KILLED_RUN = """
import sys, threading
from pathlib import Path
sys.path[:0] = {paths!r}
from audit_fixtures import refuses_targets, scripted_responder, start_run
from uptake.audit.censorship.classify import RuleClassifier
from uptake.audit.censorship.plan import AuditConfig
from uptake.audit.censorship.probes import load_probe_set
from uptake.audit.censorship.runner import execute
from uptake.engines.mock import MockEngine

class StallingEngine(MockEngine):
    def generate_batch(self, requests):
        if self.batches:
            threading.Event().wait()  # the second chunk never finishes: the process is killed here
        return super().generate_batch(requests)

probe_set = load_probe_set()
config = AuditConfig.from_dict({config!r})
folder, settings, index = start_run(Path({home!r}), config, probe_set)
print(settings.run_id, flush=True)
execute(folder, settings, StallingEngine(responder=scripted_responder(probe_set, refuses_targets)),
        RuleClassifier(), probe_set, index)
"""


def test_resume_after_the_process_is_killed(tmp_path: Path, uninterrupted: list[dict[str, object]]) -> None:
    here = str(Path(__file__).parent)
    script = KILLED_RUN.format(paths=[here, *sys.path], config=CONFIG.as_dict(), home=str(tmp_path))
    index = RunIndex(tmp_path / "uptake.db")
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "UPTAKE_HOME": str(tmp_path)}) as process:
        try:
            assert process.stdout is not None
            run_id = process.stdout.readline().strip()
            journal = tmp_path / "runs" / run_id / "results.jsonl"
            deadline = time.monotonic() + 60
            while len(read_journal(journal).rows) < CONFIG.chunk_size:
                assert time.monotonic() < deadline, "the first chunk was never saved"
                assert process.poll() is None, "the run ended before it could be killed"
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.kill()
    assert index.status_of(run_id) == "running", "a killed run cannot mark itself"
    probe_set = load_probe_set()
    folder, settings = open_resume(run_id, index, "resume")
    engine = MockEngine(responder=scripted_responder(probe_set, refuses_targets))
    outcome = execute(folder, settings, engine, RuleClassifier(), probe_set, index)
    assert len(engine.requests) == len(outcome.plan) - CONFIG.chunk_size
    assert sorted_rows(outcome.rows) == uninterrupted
