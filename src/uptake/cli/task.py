"""`uptake task ...`: run a sector task file on a model (or any OpenAI-compatible server), compare models on
it, and check a task file. Thin: parse, call the apply library, print."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TaskID, TextColumn
from rich.progress import Task as ProgressTask
from rich.table import Table
from rich.text import Text

from uptake.cli.backends import backend_for, ray_options, refuse_ray_flags
from uptake.cli.options import (
    AddressOption,
    ApiKeyOption,
    Backend,
    BackendOption,
    ConcurrencyOption,
    CpusPerReplicaOption,
    EndpointOption,
    JsonOption,
    ReplicasOption,
)
from uptake.cli.output import console, err_console, print_json, resolve_with_progress
from uptake.errors import InterruptedRunError, UsageError
from uptake.settings import get_settings

if TYPE_CHECKING:
    from uptake.apply.runner import TaskRunFolder
    from uptake.apply.spec import Task
    from uptake.executors.base import Executor
    from uptake.executors.ray import RayOptions

EXIT_GATE_FAILED = 4  # the run finished and a gate failed: CI can tell this from a crash (1) or a typo (2)
TASK_PARALLEL = 16  # sequences decoded together for a task, unless UPTAKE_PARALLEL says otherwise
TASK_CONTEXT = 2048  # tokens per sequence: system prompt, few-shot examples, the row and its answer

TaskArgument = Annotated[str, typer.Argument(metavar="TASK", help="A built-in task's name, or a task.yaml path.")]
ModelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="Model name or GGUF path (default: the default model).")
]
LimitOption = Annotated[
    int | None, typer.Option(min=1, help="Run only this many rows, taken in turn from each language.")
]


def run(
    task_name: TaskArgument,
    model: ModelOption = None,
    limit: LimitOption = None,
    resume: Annotated[
        str | None, typer.Option(metavar="RUN_ID", help="Finish a stopped run (its id or folder), same settings.")
    ] = None,
    input_path: Annotated[
        Path | None, typer.Option("--input", help="Run on this file instead of the task's own rows (no gold).")
    ] = None,
    endpoint: EndpointOption = None,
    api_key: ApiKeyOption = None,
    concurrency: ConcurrencyOption = 4,
    no_grammar: Annotated[
        bool, typer.Option("--no-grammar", help="Do not enforce the schema (to measure what the grammar buys).")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Run folder (default: UPTAKE_HOME/tasks/RUN_ID).")] = None,
    backend: BackendOption = None,
    address: AddressOption = None,
    replicas: ReplicasOption = None,
    cpus_per_replica: CpusPerReplicaOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run a task's rows through a model; score them, judge the gates, write the results and a report.

    The run folder holds rows.jsonl (every row, as it finishes), results.jsonl (accepted rows),
    review.jsonl (rows below the confidence threshold), errors.jsonl, summary.json and report.html.
    Exit status: 0 every gate passed (or none could be judged), 4 a gate failed, 1 a failure,
    2 a usage error, 130 stopped (finish with --resume RUN_ID).
    """
    from uptake.apply.builtin import task_path
    from uptake.apply.runner import RunOptions, create_run, load_rows, locate_run, resume_settings
    from uptake.apply.taskfile import load_task

    settings = get_settings()
    command = shlex.join(["uptake", *sys.argv[1:]])
    task = load_task(task_path(task_name))
    recorded_backend: dict[str, Any] | None = None
    if resume is not None:
        given = {"--limit": limit, "--input": input_path, "--no-grammar": no_grammar or None, "--out": out}
        named = [name for name, value in given.items() if value is not None]
        if named:
            raise UsageError(f"--resume uses the run's own settings; drop {', '.join(named)}.")
        folder = locate_run(resume, settings.home)
        recorded = folder.read_settings()
        model = model or (recorded.get("model") or {}).get("name")
        recorded_backend = recorded.get("backend") or {}
        endpoint = endpoint or recorded_backend.get("endpoint")
        options = RunOptions(**recorded["options"])
    else:
        if input_path is not None and not input_path.is_file():
            raise UsageError(f"--input {input_path} does not exist.")
        options = RunOptions(limit, not no_grammar, None if input_path is None else str(input_path.resolve()))
    load_rows(task, options)  # a malformed file, or gold that does not match, is refused before any model loads
    chosen = backend_for(backend, endpoint, recorded_backend)
    refuse_ray_flags(chosen, address, replicas, cpus_per_replica)
    ray = ray_options(address, replicas, cpus_per_replica, recorded_backend, parallel=_parallel(),
                      context_size=_context()) if chosen is Backend.ray else None
    with _executor(model, endpoint, api_key, concurrency, json_output, ray) as (executor, identity):
        if resume is not None:
            settings_record = resume_settings(folder, task, identity, command)
        else:
            folder, settings_record = create_run(task, options, executor.describe(), identity, command=command,
                                                 home=settings.home, out=out)
        summary = _execute_and_write(task, folder, settings_record, executor, json_output)
    if json_output:
        print_json(summary)
    else:
        _print_run(summary, folder.directory)
    if summary["passed"] is False:
        raise typer.Exit(EXIT_GATE_FAILED)


def _parallel() -> int:
    settings = get_settings()
    return settings.parallel if "parallel" in settings.model_fields_set else TASK_PARALLEL


def _context() -> int:
    settings = get_settings()
    return settings.context_size if "context_size" in settings.model_fields_set else TASK_CONTEXT


@contextmanager
def _executor(
    model: str | None, endpoint: str | None, api_key: str | None, concurrency: int, quiet: bool,
    ray: RayOptions | None = None,
) -> Iterator[tuple[Executor, dict[str, Any] | None]]:
    """The executor a run uses, and the identity of the model it records (None when only a server knows)."""
    if ray is not None:
        from uptake.cli.backends import ray_executor

        with ray_executor(model, ray, quiet) as (executor, identity):
            yield executor, identity
        return
    if endpoint is not None:
        from uptake.executors.http import HttpExecutor

        name = model or "default"
        yield HttpExecutor(endpoint, name, api_key=api_key, concurrency=concurrency), {"name": name, "sha256": None}
        return
    from uptake.engines.loader import load_engine
    from uptake.executors.local import LocalExecutor
    from uptake.provenance import identify_model

    settings = get_settings()
    resolved = resolve_with_progress(model or settings.default_model, quiet)
    engine = load_engine(resolved, settings, context_size=_context(), parallel=_parallel())
    try:
        engine.start()
        yield LocalExecutor(engine), identify_model(resolved, model).as_dict()
    finally:
        engine.close()


def _execute_and_write(
    task: Task, folder: TaskRunFolder, settings_record: dict[str, Any], executor: Executor, quiet: bool
) -> dict[str, Any]:
    from uptake.apply.report import render_report
    from uptake.apply.runner import execute, peak_memory_bytes, write_outputs
    from uptake.apply.summary import build_summary, report_rows, speed_record
    from uptake.db import utc_now

    with _task_progress(quiet) as progress:
        try:
            outcome = execute(task, folder, settings_record, executor, progress)
        except KeyboardInterrupt:
            raise InterruptedRunError(
                f"stopped; every finished row is kept. Finish with: uptake task run {task.path} "
                f"--resume {settings_record['run_id']}"
            ) from None
    speed = speed_record(outcome.rows, outcome.generated, outcome.wall_s, peak_memory_bytes(), executor.counters())
    summary = build_summary(task, settings_record, outcome.rows, outcome.gold, selected=len(outcome.selected),
                            speed=speed, finished_at=utc_now())
    summary["run_directory"] = str(folder.directory)
    write_outputs(folder, outcome.rows, summary, render_report(summary, report_rows(outcome.rows, outcome.gold)))
    return summary


class _RowsPerMinute(ProgressColumn):
    def render(self, task: ProgressTask) -> Text:
        speed = task.finished_speed or task.speed
        return Text("… rows/min" if not speed else f"{speed * 60:.1f} rows/min")


class _Eta(ProgressColumn):
    def render(self, task: ProgressTask) -> Text:
        remaining = task.time_remaining
        return Text("ETA …" if remaining is None else f"ETA {int(remaining) // 60}m{int(remaining) % 60:02d}s")


class _TaskProgress:
    """Rows done, rows per minute and time left: a bar on a terminal, a line per tenth of the run in a log."""

    def __init__(self, progress: Progress, log: bool) -> None:
        self.progress = progress
        self.log = log
        self.task: TaskID | None = None
        self.total = self.done = self.started_done = self.next_line = 0
        self.started = time.monotonic()

    def start(self, total: int, done: int) -> None:
        self.total, self.done, self.started_done = total, done, done
        self.next_line = done + max(1, total // 10)
        self.started = time.monotonic()
        self.task = self.progress.add_task("rows", total=total, completed=done)

    def advance(self, count: int) -> None:
        self.done += count
        if self.task is not None:
            self.progress.advance(self.task, count)
        if self.log and (self.done >= self.next_line or self.done == self.total):
            self.next_line = self.done + max(1, self.total // 10)
            elapsed = time.monotonic() - self.started
            made = self.done - self.started_done
            rate = made / elapsed * 60 if elapsed > 0 else 0.0
            left = (self.total - self.done) / rate * 60 if rate > 0 else 0.0
            err_console.print(f"rows {self.done}/{self.total}, {rate:.1f} rows/min, ETA {left:.0f} s", markup=False)


@contextmanager
def _task_progress(quiet: bool) -> Iterator[_TaskProgress]:
    terminal = err_console.is_terminal
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _RowsPerMinute(),
                        _Eta(), console=err_console, disable=quiet or not terminal, transient=True)
    with progress:
        yield _TaskProgress(progress, log=not quiet and not terminal)


def _score_text(record: dict[str, Any] | None) -> str:
    if not record:
        return "—"
    return f"{record['value']:.3f} ({record['low']:.3f}–{record['high']:.3f})"


def _gate_text(gate: dict[str, Any]) -> str:
    name = gate["field"] if gate["metric"] is None else f"{gate['field']}.{gate['metric']}"
    return f"{name} {_score_text(gate) if gate['low'] is not None else gate['value']}"


def _print_run(summary: dict[str, Any], directory: Path) -> None:
    counts = summary["counts"]
    console.print(
        f"task {summary['task']['name']} on {(summary.get('model') or {}).get('name')}: "
        f"{counts['done']}/{counts['rows']} "
        f"rows; ok {counts['ok']}, review {counts['review']}, invalid {counts['invalid']}, error {counts['error']}",
        markup=False,
    )
    metrics = summary["metrics"]["all"]
    if metrics:
        table = Table("field", "metric", "value (95% interval)", "n")
        for field, entry in metrics.items():
            for name, record in entry["metrics"].items():
                table.add_row(field, name, _score_text(record), str(record["n"]))
        console.print(table)
    for gate in summary["gates"]:
        verdict = {True: "pass", False: "FAIL", None: "not measured"}[gate["passed"]]
        value = "—" if gate["value"] is None else f"{gate['value']:.3f}"
        console.print(f"gate {gate['expression']}: {value} {verdict}", markup=False)
    speed = summary["speed"]
    if speed.get("rows_per_minute"):
        console.print(f"{speed['rows_per_minute']} rows/min over {speed['rows_run']} rows", markup=False)
    if counts["missing"]:
        console.print(f"{counts['missing']} rows are missing; finish with --resume {summary['run_id']}", markup=False)
    console.print(f"run {summary['run_id']}: {directory / 'summary.json'}", markup=False)
    console.print(str(directory / "report.html"), markup=False, soft_wrap=True)


def validate(task_name: TaskArgument, json_output: JsonOption = False) -> None:
    """Check a task file, its data and its gold without running a model."""
    from collections import Counter

    from uptake.apply.builtin import task_path
    from uptake.apply.runner import RunOptions, load_rows
    from uptake.apply.taskfile import load_task

    task = load_task(task_path(task_name))
    rows, gold = load_rows(task, RunOptions())
    malformed = [row for row in rows if row.error is not None]
    report: dict[str, Any] = {
        "task": task.name, "path": str(task.path), "sha256": task.sha256, "rows": len(rows),
        "by_language": dict(Counter(row.language for row in rows)), "gold": len(gold),
        "malformed_rows": [{"id": row.id, "reason": row.error} for row in malformed],
        "fields": {name: {"type": field.kind, "metrics": [m.metric for m in field.metrics]}
                   for name, field in task.fields.items()},
        "gates": [gate.expression for gate in task.gates],
        "abstention": None if task.spec.abstention is None else task.spec.abstention.model_dump(),
    }
    if json_output:
        print_json(report)
        return
    languages = ", ".join(f"{language} {count}" for language, count in report["by_language"].items())
    console.print(f"{task.name}: valid; {len(rows)} rows ({languages}), {len(gold)} gold rows", markup=False)
    for row in malformed:
        console.print(f"  malformed row {row.id}: {row.error} (it will be recorded as an error row)", markup=False)


def list_tasks(json_output: JsonOption = False) -> None:
    """The built-in sector tasks."""
    from uptake.apply.builtin import builtin_tasks
    from uptake.apply.taskfile import load_task

    tasks = [load_task(path) for path in builtin_tasks().values()]
    records: list[dict[str, Any]] = [
        {"name": task.name, "sector": task.spec.sector, "languages": list(task.spec.languages),
         "synthetic": task.spec.synthetic, "description": task.spec.description}
        for task in tasks
    ]
    if json_output:
        print_json(records)
        return
    table = Table("task", "sector", "languages", "data")
    for record in records:
        table.add_row(record["name"], record["sector"], ", ".join(record["languages"]),
                      "synthetic" if record["synthetic"] else "real")
    console.print(table)


def compare(
    task_name: TaskArgument,
    models: Annotated[str, typer.Option("--models", help="Models to compare, comma-separated: a,b,c.")],
    limit: LimitOption = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the runs (default: UPTAKE_HOME/tasks/compare-ID).")] = (
        None
    ),
    json_output: JsonOption = False,
) -> None:
    """Run a task on several models on this device; say which is the smallest that passes every gate.

    Each model runs in a process of its own; the table gives quality with 95% intervals, rows per
    minute, peak memory, and what `uptake fit` predicted. Exit status 0 when a model passes, 4 when
    none does.
    """
    from uptake.apply.builtin import task_path
    from uptake.apply.compare import compare_models, parse_models
    from uptake.apply.taskfile import load_task
    from uptake.run_folders import new_run_id

    chosen = parse_models(models)
    load_task(task_path(task_name))  # a broken task file is said once, not once per model
    settings = get_settings()
    folder = out or settings.home / "tasks" / f"compare-{new_run_id()}"

    def announce(model: str) -> None:
        if not json_output:
            err_console.print(f"running {task_name} on {model}", markup=False)

    fields = settings.model_fields_set
    result = compare_models(
        task_name, chosen, folder, limit, settings, quiet=json_output, on_model=announce,
        parallel=settings.parallel if "parallel" in fields else TASK_PARALLEL,
        context=settings.context_size if "context_size" in fields else TASK_CONTEXT,
    )
    if json_output:
        print_json(result)
    else:
        _print_compare(result)
    if result["smallest_passing"] is None:
        raise typer.Exit(EXIT_GATE_FAILED)


def _print_compare(result: dict[str, Any]) -> None:
    from uptake.cli.output import human_bytes

    table = Table("model", "gates", "quality (95% interval)", "rows/min", "peak memory", "fit: rows/min, memory")
    for entry in result["models"]:
        if not entry["ok"]:
            table.add_row(entry["model"], "failed", entry["error"], "", "", "")
            continue
        summary = entry["summary"]
        gates = summary["gates"]
        passed = sum(gate["passed"] is True for gate in gates)
        quality = "; ".join(_gate_text(gate) for gate in gates if gate["value"] is not None)
        fit = entry.get("fit")
        predicted = "—" if not fit else f"{fit['rows_per_minute']}, {human_bytes(fit['memory_bytes'])}"
        table.add_row(entry["model"], f"{passed}/{len(gates)}", quality or "—",
                      str(summary["speed"].get("rows_per_minute") or "—"),
                      human_bytes(summary["speed"]["peak_rss_bytes"]), predicted)
    console.print(table)
    console.print(result["verdict"], markup=False, soft_wrap=True)
