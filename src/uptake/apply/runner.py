"""Run a task: input rows -> executor (many in flight) -> checked rows in the journal -> summary and report.

Each finished row is appended to rows.jsonl and forced to disk before the next is counted, so a run killed
at any moment (kill -9, power cut) loses only the rows in flight; `--resume` reads the journal, skips the
rows it holds and runs the rest with the same settings. Every input row ends up in the journal exactly
once: the first line for an id counts, and a resumed run never journals an id twice.
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uptake import journal
from uptake.apply.data import InputRow, check_gold_matches, read_gold, read_input
from uptake.apply.prompts import request_for
from uptake.apply.rows import REQUIRED, error_row, result_row, row_key
from uptake.apply.spec import Task
from uptake.atomic import write_json_atomically, write_lines_atomically, write_text_atomically
from uptake.db import utc_now
from uptake.errors import UsageError
from uptake.executors.base import Executor
from uptake.provenance import package_versions
from uptake.run_folders import NoProgress, RunFolder, RunProgress, new_run_id

RUN_KIND = "task"
RUN_VERSION = 1


@dataclass(frozen=True)
class TaskRunFolder(RunFolder):
    """A task run's folder: run.json, rows.jsonl (the journal), the outputs, summary.json and report.html."""

    @property
    def journal_path(self) -> Path:
        return self.directory / "rows.jsonl"

    def output_path(self, name: str) -> Path:
        return self.directory / f"{name}.jsonl"

    def read_settings(self) -> dict[str, Any]:
        return self.read_run_json(RUN_KIND, "a task run")

    def write_settings(self, settings: dict[str, Any]) -> None:
        self.write_run_json(settings)


@dataclass(frozen=True)
class RunOptions:
    """What a run was asked for; recorded in run.json so that `--resume` carries on exactly so."""

    limit: int | None = None
    constrained: bool = True  # the output schema as a grammar (off only to measure what it buys)
    input_path: str | None = None  # another input file than the task's own: a production run, without gold

    def as_dict(self) -> dict[str, Any]:
        return {"limit": self.limit, "constrained": self.constrained, "input_path": self.input_path}


@dataclass
class RunOutcome:
    folder: TaskRunFolder
    settings: dict[str, Any]
    rows: list[dict[str, Any]]
    gold: dict[str, dict[str, Any]]
    selected: list[InputRow]
    generated: int = 0  # rows run by this invocation
    wall_s: float = 0.0  # of this invocation's generation
    complete: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def runs_dir(home: Path) -> Path:
    return home / "tasks"


def create_run(
    task: Task, options: RunOptions, backend: dict[str, Any], model: dict[str, Any] | None, *, command: str,
    home: Path, out: Path | None = None,
) -> tuple[TaskRunFolder, dict[str, Any]]:
    run_id = new_run_id()
    directory = out if out is not None else runs_dir(home) / run_id
    folder = TaskRunFolder(directory)
    if folder.settings_path.exists() or folder.journal_path.exists():
        raise UsageError(f"{directory} already holds a task run; finish it with --resume {directory}.")
    directory.mkdir(parents=True, exist_ok=True)
    settings = {
        "version": RUN_VERSION,
        "kind": RUN_KIND,
        "run_id": run_id,
        "created_at": utc_now(),
        "task": {"name": task.name, "path": str(task.path), "sha256": task.sha256},
        "model": model,
        "backend": backend,
        "options": options.as_dict(),
        "command": command,
        "packages": package_versions(),
        "resumes": [],
    }
    folder.write_settings(settings)
    return folder, settings


def locate_run(run: str, home: Path) -> TaskRunFolder:
    """A run by id (under the home's tasks/ folder) or by the path of its folder."""
    for candidate in (runs_dir(home) / run, Path(run).expanduser()):
        if (candidate / "run.json").is_file():
            return TaskRunFolder(candidate)
    raise UsageError(f"no task run '{run}'; give the run id a previous run printed, or its folder.")


def resume_settings(folder: TaskRunFolder, task: Task, model: dict[str, Any] | None, command: str) -> dict[str, Any]:
    """run.json with this resume noted, once the task file and model are checked to be the run's own."""
    settings = folder.read_settings()
    if settings["task"]["sha256"] != task.sha256:
        raise UsageError(
            f"run {settings['run_id']} ran {settings['task']['path']} with sha256 {settings['task']['sha256'][:12]}, "
            "but the task file has changed since; start a new run."
        )
    started_with = (settings.get("model") or {}).get("sha256")
    if model is not None and started_with is not None and model.get("sha256") != started_with:
        raise UsageError(
            f"run {settings['run_id']} used {settings['model']['name']} with sha256 {started_with[:12]}, but this "
            "model's file differs; resume with the same model, or start a new run."
        )
    settings["resumes"] = [*settings.get("resumes", []), {"at": utc_now(), "command": command}]
    folder.write_settings(settings)
    return settings


def select_rows(rows: list[InputRow], limit: int | None) -> list[InputRow]:
    """The first `limit` rows taken in turn from each language (so a sample covers every language), in
    input order within a language; all rows without a limit."""
    if limit is None or limit >= len(rows):
        return rows
    by_language: dict[str, list[InputRow]] = {}
    for row in rows:
        by_language.setdefault(row.language, []).append(row)
    chosen: list[InputRow] = []
    queues = [list(reversed(items)) for items in by_language.values()]
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop())
    order = {row.id: index for index, row in enumerate(rows)}
    return sorted(chosen, key=lambda row: order[row.id])


def load_rows(task: Task, options: RunOptions) -> tuple[list[InputRow], dict[str, dict[str, Any]]]:
    """The rows this run covers and their gold: gold is checked against the whole input before any work."""
    if options.input_path is not None:
        return select_rows(read_input(task, Path(options.input_path)), options.limit), {}
    rows = read_input(task)
    gold = read_gold(task)
    check_gold_matches(rows, gold, task)
    return select_rows(rows, options.limit), gold


def execute(
    task: Task, folder: TaskRunFolder, settings: dict[str, Any], executor: Executor,
    progress: RunProgress | None = None,
) -> RunOutcome:
    """Run every selected row the journal lacks; then the journal holds one row per selected input row."""
    progress = progress or NoProgress()
    options = RunOptions(**settings["options"])
    selected, gold = load_rows(task, options)
    with folder.lock():
        contents = journal.read_journal(folder.journal_path, row_key, REQUIRED, "task row")
        journal.repair(folder.journal_path, contents)
        done = {row_key(row) for row in contents.rows}
        todo = [row for row in selected if row.id not in done]
        failed_input = [error_row(row, row.error) for row in todo if row.error is not None]
        journal.append_rows(folder.journal_path, failed_input)
        progress.start(len(selected), len(selected) - len(todo) + len(failed_input))
        runnable = [row for row in todo if row.error is None]
        started = time.perf_counter()
        asyncio.run(_run_rows(task, runnable, executor, folder.journal_path, options, progress))
        wall = time.perf_counter() - started
        wanted = {row.id for row in selected}
        rows = [row for row in journal.read_journal(folder.journal_path, row_key, REQUIRED).rows if row["id"] in wanted]
    outcome = RunOutcome(folder, settings, rows, gold, selected, len(runnable), wall, len(rows) == len(selected))
    return outcome


async def _run_rows(
    task: Task, rows: Sequence[InputRow], executor: Executor, path: Path, options: RunOptions,
    progress: RunProgress,
) -> None:
    """All rows through the executor, `executor.concurrency` in flight; each journaled as it finishes."""
    gate = asyncio.Semaphore(executor.concurrency)
    wants_logprobs = task.spec.abstention is not None

    async def one(row: InputRow) -> None:
        async with gate:
            completion = await executor.complete(request_for(task, row, logprobs=wants_logprobs,
                                                             constrained=options.constrained))
        journal.append_rows(path, [result_row(task, row, completion)])
        progress.advance(1)

    try:
        await asyncio.gather(*(one(row) for row in rows))
    finally:
        await executor.aclose()


def peak_memory_bytes() -> int:
    """This process's peak resident memory (Linux reports kibibytes)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def write_outputs(folder: TaskRunFolder, rows: Sequence[dict[str, Any]], summary: dict[str, Any], report: str) -> None:
    """results.jsonl (accepted rows: id, language, output), review.jsonl, errors.jsonl, summary, report."""
    accepted = [{"id": row["id"], "lang": row["lang"], "output": row["output"]} for row in rows
                if row["status"] == "ok"]
    review = [row for row in rows if row["status"] == "review"]
    errors = [row for row in rows if row["status"] in {"invalid", "error"}]
    for name, items in (("results", accepted), ("review", review), ("errors", errors)):
        write_lines_atomically(folder.output_path(name), [json.dumps(item, ensure_ascii=False) for item in items])
    write_json_atomically(folder.summary_path, summary)
    write_text_atomically(folder.report_path, report)
