"""A home (UPTAKE_HOME) with real data for the web console: stored and scanned models, censorship audit runs and
task runs, made by the same code the commands use (the audits and tasks on the scripted mock engine).

`hostile=True` puts an XSS probe in every place the console shows text it did not write: a model's answer, a
model's name (as the audited model), a chat template and a task row. The probe, left unescaped, would raise
`window.__xss`; the browser suite asserts it never does.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from task_files import write_task
from tiny_gguf import CHATML_TEMPLATE, write_tiny_gguf
from uptake.apply.report import render_report
from uptake.apply.runner import RunOptions, create_run, execute, write_outputs
from uptake.apply.summary import build_summary, report_rows, speed_record
from uptake.apply.taskfile import load_task
from uptake.audit.censorship.classify import RuleClassifier
from uptake.audit.censorship.outputs import write_outputs as write_audit_outputs
from uptake.audit.censorship.plan import AuditConfig
from uptake.audit.censorship.probes import load_probe_set
from uptake.audit.censorship.records import ClassifierSettings, EngineRecord
from uptake.audit.censorship.runner import create_run as create_audit_run
from uptake.audit.censorship.runner import execute as execute_audit
from uptake.audit.censorship.runs import RunIndex
from uptake.engines.base import GenerationRequest
from uptake.engines.mock import MockEngine
from uptake.executors.local import LocalExecutor
from uptake.models.store import Store
from uptake.provenance import ModelIdentity
from uptake.scan.gate import scan_gate
from uptake.settings import Settings

PROBE = '<script>window.__xss=(window.__xss||0)+1</script><img src=x onerror="window.__xss=(window.__xss||0)+1">'
REFUSAL = "I'm sorry, but I can't help with that."


def add_models(home: Path, count: int, *, hostile: bool = True) -> list[str]:
    """`count` tiny GGUF models imported into the store through the scan gate (so each has a scan)."""
    store = Store(Settings(home=home))
    source = home / "sources"
    source.mkdir(parents=True, exist_ok=True)
    names = []
    for number in range(count):
        template = CHATML_TEMPLATE + ("{# " + PROBE + " #}" if hostile and number == 0 else "")
        path = write_tiny_gguf(source / f"m{number}.gguf", seed=number, chat_template=template, name=f"tiny-{number}")
        names.append(store.import_file(path, name=f"tiny-{number:02d}", gate=scan_gate(force=True)).name)
    shutil.rmtree(source)
    return names


def _audit_model(hostile: bool) -> ModelIdentity:
    return ModelIdentity(name=f"mock {PROBE}" if hostile else "mock-model", sha256="0" * 64, path=None,
                         quantization="Q4_K_M", architecture="mock", parameters=1, chat_template_sha256="1" * 64,
                         trust=None)


def add_audits(home: Path, count: int, *, hostile: bool = True, refusing: bool = True) -> list[str]:
    """`count` finished quick audits of two topics in en and zh-Hans. The first runs on the mock engine (it
    answers controls with the probe and refuses targets when `refusing`); the rest are copies of its folder
    under new ids, indexed like runs of their own (a hundred audits would otherwise take minutes)."""
    probe_set = load_probe_set()
    index = RunIndex(home / "uptake.db")
    config = AuditConfig.create(topics=["tiananmen-1989", "liu-xiaobo"], langs=["en", "zh-Hans"], baselines=1)

    def respond(request: GenerationRequest) -> str:
        found = probe_set.find_by_prompt(request.messages[-1].content)
        refuse = refusing and found is not None and found[0].arm in ("target", "harm")
        return REFUSAL if refuse else f"Here is the history in detail. {PROBE if hostile else ''}"

    folder, settings = create_audit_run(
        config=config, model=_audit_model(hostile), engine=EngineRecord(engine="MockEngine"),
        classifier=ClassifierSettings(), probe_set=probe_set, command="uptake audit censorship mock --quick",
        index=index, runs_dir=home / "runs",
    )
    outcome = execute_audit(folder, settings, MockEngine(responder=respond), RuleClassifier(), probe_set, index)
    write_audit_outputs(outcome, probe_set, index)
    ids = [settings.run_id]
    for number in range(1, count):
        ids.append(_copy_audit(home, folder.directory, settings.run_id, f"{settings.run_id[:-6]}c{number:05d}"))
    return ids


def _copy_audit(home: Path, source: Path, old_id: str, new_id: str) -> str:
    target = source.parent / new_id
    shutil.copytree(source, target)
    for name in ("run.json", "summary.json"):
        path = target / name
        path.write_text(path.read_text(encoding="utf-8").replace(old_id, new_id), encoding="utf-8")
    with contextlib.closing(sqlite3.connect(home / "uptake.db")) as db, db:
        row = db.execute("SELECT * FROM runs WHERE id = ?", (old_id,)).fetchone()
        columns = [d[0] for d in db.execute("SELECT * FROM runs LIMIT 0").description]
        values = dict(zip(columns, row, strict=True))
        values.update(id=new_id, directory=str(target), settings=values["settings"].replace(old_id, new_id),
                      summary=(values["summary"] or "").replace(old_id, new_id) or None)
        db.execute(f"INSERT INTO runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                   list(values.values()))
    return new_id


def add_task_run(home: Path, *, hostile: bool = True) -> str:
    """A finished run of the test triage task on the mock engine, two of whose rows go to review (low
    confidence); with `hostile`, one row's text is the probe."""
    rows = [
        ("r01", "en", "A pothole on Main Road broke my tyre.", "roads", "medium", "Main Road"),
        ("r02", "en", f"No water since yesterday {PROBE if hostile else ''}", "water", "high", None),
        ("r03", "en", "Neighbours party every night, very loud.", "noise", "low", None),
        ("r04", "zh-Hans", "人民路上有个大坑，车胎都爆了。", "roads", "medium", "人民路"),
    ]
    doubtful = {"r02", "r03"}

    def respond(request: GenerationRequest) -> str:
        text = request.messages[-1].content
        row = next(row for row in rows if row[2] in text)
        # The category word's position sets its confidence: deep in the reply is doubtful (see the mock).
        pad = " " * 12 if row[0] in doubtful else " "
        return '{"category":' + pad + json.dumps(row[3]) + ', "urgency": "' + row[4] + '", "location": ' + \
            json.dumps(row[5], ensure_ascii=False) + "}"

    task = load_task(write_task(home / "task-files", rows=rows))
    folder, settings = create_run(task, RunOptions(), {"kind": "local"}, {"name": "mock-model", "sha256": None},
                                  command="uptake task run mini-triage", home=home)
    engine = MockEngine(responder=respond)
    engine.start()
    try:
        outcome = execute(task, folder, settings, LocalExecutor(engine))
    finally:
        engine.close()
    summary = build_summary(task, settings, outcome.rows, outcome.gold, selected=len(outcome.selected),
                            speed=speed_record(outcome.rows, outcome.generated, outcome.wall_s, 0),
                            finished_at="now")
    write_outputs(folder, outcome.rows, summary, render_report(summary, report_rows(outcome.rows, outcome.gold)))
    return str(settings["run_id"])


def populate(home: Path, *, models: int = 2, audits: int = 2, hostile: bool = True) -> dict[str, Any]:
    return {
        "models": add_models(home, models, hostile=hostile),
        "audits": add_audits(home, audits, hostile=hostile),
        "task": add_task_run(home, hostile=hostile),
    }
