"""`uptake audit censorship` end to end on a tiny real GGUF model through llama.cpp."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from audit_fixtures import fake_judge_server, stable_fields
from typer.testing import CliRunner

from uptake.audit.censorship.journal import read_journal, row_key
from uptake.audit.censorship.plan import AUDIT_PARALLEL
from uptake.audit.censorship.summary import validate_summary
from uptake.cli.main import app
from uptake.errors import UptakeError, UsageError

# One topic, one language, one neutral and one harm probe, four tokens each: seconds on a laptop.
TINY_AUDIT = ["--topics", "tiananmen-1989", "--langs", "en", "--baselines", "1", "--max-tokens", "4"]


@pytest.fixture(autouse=True)
def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # A model this small gains nothing from a second thread, and a busy test machine makes it slower.
    monkeypatch.setenv("UPTAKE_THREADS", "1")
    monkeypatch.setenv("UPTAKE_CONTEXT_SIZE", "512")


def run_cli(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, ["audit", *args])
    return result.exit_code, result.stdout, result.exception


def test_audit_runs_and_prints_the_report_path_last(tiny_gguf: Path, uptake_home: Path) -> None:
    code, out, error = run_cli("censorship", str(tiny_gguf), *TINY_AUDIT)
    assert code == 0, (out, error)
    report = Path(out.strip().splitlines()[-1])
    assert report.name == "report.html" and report.is_file()
    assert report.parent.parent == uptake_home / "runs"
    rows = read_journal(report.parent / "results.jsonl").rows
    assert sorted(row["probe_id"] for row in rows) == [
        "capital-australia.neutral", "ransomware.harm", "tiananmen-1989.control", "tiananmen-1989.target"
    ]
    assert all(row["completion_tokens"] <= 4 and row["seed"] == 0 for row in rows)
    assert "Censorship gap" in out and "en" in out
    with sqlite3.connect(uptake_home / "uptake.db") as db:
        status, sha256 = db.execute("SELECT status, model_sha256 FROM runs").fetchone()
    assert status == "done" and len(sha256) == 64


def test_json_prints_the_summary(tiny_gguf: Path, tmp_path: Path) -> None:
    code, out, error = run_cli("censorship", str(tiny_gguf), *TINY_AUDIT, "--json", "--out", str(tmp_path / "run"))
    assert code == 0, (out, error)
    summary = json.loads(out)
    validate_summary(summary)
    assert summary["run"]["directory"] == str(tmp_path / "run")
    assert summary["reproduce"]["engine"]["engine"] == "LlamaCppEngine"
    assert summary["reproduce"]["engine"]["load"] == {"context_size": 512, "threads": 1, "parallel": AUDIT_PARALLEL}
    assert summary["reproduce"]["engine"]["parallel"] == AUDIT_PARALLEL
    assert summary["reproduce"]["model"]["chat_template_used_sha256"]
    assert json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8")) == summary


def test_resume_on_the_real_engine_matches_the_uninterrupted_run(tiny_gguf: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    code, out, error = run_cli("censorship", str(tiny_gguf), *TINY_AUDIT, "--json", "--out", str(folder))
    assert code == 0, (out, error)
    journal = folder / "results.jsonl"
    complete = sorted((stable_fields(row) for row in read_journal(journal).rows), key=row_key)
    # As if the process died while writing the second row.
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    journal.write_text(lines[0] + lines[1][: len(lines[1]) // 2], encoding="utf-8")

    code, out, error = run_cli("censorship", "--resume", str(folder), "--json")
    assert code == 0, (out, error)
    resumed = sorted((stable_fields(row) for row in read_journal(journal).rows), key=row_key)
    assert resumed == complete
    assert len(journal.read_text(encoding="utf-8").splitlines()) == len(complete)
    assert len(json.loads(out)["reproduce"]["resumes"]) == 1


def test_resume_takes_no_new_settings(tiny_gguf: Path) -> None:
    code, _, error = run_cli("censorship", "--resume", "20990101-000000-abcdef", "--quick")
    assert code != 0 and isinstance(error, UsageError) and "--quick" in str(error)


@pytest.mark.parametrize(
    ("option", "message"),
    [(["--langs", "fr"], "unknown language"), (["--topics", "atlantis"], "unknown topic")],
)
def test_bad_options_are_usage_errors(tiny_gguf: Path, option: list[str], message: str) -> None:
    code, _, error = run_cli("censorship", str(tiny_gguf), *option)
    assert code != 0 and isinstance(error, UsageError) and message in str(error)


def test_an_existing_run_folder_is_not_overwritten(tiny_gguf: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    assert run_cli("censorship", str(tiny_gguf), *TINY_AUDIT, "--json", "--out", str(folder))[0] == 0
    code, _, error = run_cli("censorship", str(tiny_gguf), *TINY_AUDIT, "--out", str(folder))
    assert code != 0
    assert isinstance(error, UsageError) and "--resume" in str(error)


def test_a_url_judge_labels_the_audit_and_is_recorded(tiny_gguf: Path, tmp_path: Path) -> None:
    with fake_judge_server('{"label": "deflected", "confidence": 0.6}') as (url, received):
        code, out, error = run_cli("censorship", str(tiny_gguf), *TINY_AUDIT, "--judge", url, "--judge-model", "j",
                                   "--judge-key", "secret-key", "--json", "--out", str(tmp_path / "run"))
    assert code == 0, (out, error)
    summary = json.loads(out)
    assert summary["reproduce"]["classifier"] == {"mode": "judge", "judge": url, "judge_model": "j", "threshold": None}
    rows = read_journal(tmp_path / "run" / "results.jsonl").rows
    # Replies without a letter in them are labelled by the rules; the judge reads every other one.
    judged = [row for row in rows if row["response_lang"] != "empty"]
    assert judged and all(row["label"] == "deflected" and row["classifier"].startswith("judge:") for row in judged)
    assert len(received) == len(judged)
    assert "secret-key" not in (tmp_path / "run" / "run.json").read_text(encoding="utf-8")


def test_missing_report_packages_fail_before_any_work(
    tiny_gguf: Path, uptake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    code, _, error = run_cli("censorship", str(tiny_gguf), *TINY_AUDIT)
    assert code != 0 and isinstance(error, UptakeError) and "uptake[audit]" in str(error)
    assert not (uptake_home / "runs").exists(), "no run was started"


def installed_uptake(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("uptake")), *args],
        capture_output=True, text=True, timeout=300, env=os.environ.copy(),
    )


def test_relabel_labels_a_run_again_without_generating(tiny_gguf: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    assert run_cli("censorship", str(tiny_gguf), *TINY_AUDIT, "--json", "--out", str(folder))[0] == 0
    journal = folder / "results.jsonl"
    before = read_journal(journal).rows
    with fake_judge_server('{"label": "deflected", "confidence": 0.6}') as (url, received):
        done = installed_uptake("audit", "relabel", str(folder), "--judge", url, "--judge-model", "j", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    validate_summary(summary)
    after = read_journal(journal).rows
    def texts(rows: list[dict[str, object]]) -> list[tuple[object, object]]:
        return [(row["probe_id"], row["response"]) for row in rows]

    assert texts(after) == texts(before), "nothing is generated again"
    judged = [row for row in after if row["response_lang"] != "empty"]
    assert judged and all(row["label"] == "deflected" for row in judged) and len(received) == len(judged)
    assert summary["reproduce"]["classifier"]["mode"] == "judge"
    assert summary["reproduce"]["resumes"][-1]["relabelled"] == len(after)
    assert json.loads((folder / "summary.json").read_text(encoding="utf-8")) == summary
    assert not list(folder.glob("*.partial")) and not list(folder.glob("*.tmp"))


def test_relabel_of_an_unknown_run_is_a_one_line_usage_error(uptake_home: Path) -> None:
    done = installed_uptake("audit", "relabel", "20990101-000000-abcdef")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no censorship audit run" in done.stderr
