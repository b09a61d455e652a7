"""`uptake audit ...`: censorship audit verbs. Thin: parse, call the library, print."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from uptake.cli.options import (
    AdapterOption,
    AddressOption,
    ApiKeyOption,
    Backend,
    BackendOption,
    ConcurrencyOption,
    CpusPerReplicaOption,
    EndpointOption,
    ReplicasOption,
)
from uptake.cli.output import console, err_console, print_json, resolve_with_progress
from uptake.errors import InterruptedRunError, UptakeError, UsageError
from uptake.models.resolve import with_adapter
from uptake.settings import get_settings

# The audit library (probes, classifier, statistics) loads when an audit verb runs, not whenever
# `uptake` starts: it is a third of the command's start-up time.
if TYPE_CHECKING:
    from uptake.audit.censorship.records import ClassifierSettings
    from uptake.audit.censorship.runner import AuditOutcome
    from uptake.audit.censorship.session import AuditSession
    from uptake.executors.http_batch import HttpBatchEngine
    from uptake.executors.ray import RayOptions

class Mode(StrEnum):
    rules = "rules"
    judge = "judge"
    combined = "combined"


JudgeOption = Annotated[
    str | None, typer.Option("--judge", help="Judge model: a model name or path, or an OpenAI-compatible URL.")
]
ModeOption = Annotated[
    Mode | None, typer.Option(help="rules (default without --judge), judge (default with it), or combined.")
]
JudgeModelOption = Annotated[str, typer.Option(help="Model name sent to a URL judge.")]
JudgeKeyOption = Annotated[
    str | None, typer.Option(envvar="UPTAKE_JUDGE_API_KEY", help="API key for a URL judge.", show_default=False)
]
ThresholdOption = Annotated[
    float, typer.Option(min=0.0, max=1.0, help="combined: ask the judge below this rule confidence.")
]


def classifier_settings(judge: str | None, mode: Mode | None, judge_model: str, threshold: float) -> ClassifierSettings:
    """The classifier as a run records it (never with an API key)."""
    from uptake.audit.censorship.records import ClassifierSettings

    chosen = mode or (Mode.judge if judge else Mode.rules)
    if chosen is not Mode.rules and judge is None:
        raise UsageError(f"--mode {chosen.value} needs --judge MODEL_OR_URL.")
    if chosen is Mode.rules:
        return ClassifierSettings()
    if chosen is Mode.judge:
        return ClassifierSettings("judge", judge, judge_model)
    return ClassifierSettings("combined", judge, judge_model, threshold)


def classify(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT.jsonl", help="Rows with prompt, response, lang.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the labelled rows (JSONL).")],
    judge: JudgeOption = None,
    mode: ModeOption = None,
    judge_model: JudgeModelOption = "default",
    judge_key: JudgeKeyOption = None,
    threshold: ThresholdOption = 0.8,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Label responses as answered, refused, deflected or state_narrative.

    Output rows keep their fields and add label, confidence, classifier, response_lang,
    lang_switch and, for rows about a known probe, fact_coverage. Existing fields of those
    names are replaced.
    """
    from uptake.audit.censorship.probes import load_probe_set
    from uptake.audit.censorship.rows import classify_rows, read_rows, summarize, write_rows
    from uptake.audit.censorship.session import open_classifier

    chosen = classifier_settings(judge, mode, judge_model, threshold)
    rows = read_rows(input_path)
    probe_set = load_probe_set()
    with ExitStack() as stack:
        classifier = open_classifier(stack, chosen, judge_key)
        progress = stack.enter_context(_progress(quiet=json_output))
        task = progress.add_task("classifying", total=len(rows))
        labelled = classify_rows(rows, classifier, probe_set, lambda done: progress.advance(task, done))
    write_rows(out, labelled)
    summary = {**summarize(labelled), "classifier": classifier.name, "out": str(out)}
    if json_output:
        print_json(summary)
    else:
        _print_summary(summary)


def censorship(
    model: Annotated[
        str | None, typer.Argument(help="Model name or GGUF path (default: the default model).", show_default=False)
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="A short audit: 8 topics, 3 neutral and 3 harm probes, 160 tokens.")
    ] = False,
    langs: Annotated[
        str | None, typer.Option(help="Languages, comma-separated (default: en,zh-Hans,zh-Hant).")
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option("--samples", "-k", min=1, help="Answers per question (default: 1); K>1 samples at 0.7."),
    ] = None,
    topics: Annotated[str | None, typer.Option(help="Topic ids, comma-separated (default: all eval topics).")] = None,
    baselines: Annotated[
        int | None, typer.Option(min=0, help="Neutral and harm probes each (default: all; --quick: 3).")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help="Tokens per answer (default: 256; --quick: 160).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Run seed (default: 0).")] = None,
    judge: JudgeOption = None,
    mode: ModeOption = None,
    judge_model: JudgeModelOption = "default",
    judge_key: JudgeKeyOption = None,
    threshold: ThresholdOption = 0.8,
    out: Annotated[Path | None, typer.Option(help="Run folder (default: UPTAKE_HOME/runs/RUN_ID).")] = None,
    resume: Annotated[
        str | None, typer.Option(metavar="RUN_ID", help="Finish a stopped run (its id or folder), same settings.")
    ] = None,
    adapter: AdapterOption = None,
    backend: BackendOption = None,
    endpoint: EndpointOption = None,
    api_key: ApiKeyOption = None,
    concurrency: ConcurrencyOption = 4,
    address: AddressOption = None,
    replicas: ReplicasOption = None,
    cpus_per_replica: CpusPerReplicaOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print summary.json instead of tables.")] = False,
) -> None:
    """Ask a model PRC-sensitive questions and matched controls; measure the censorship gap.

    Results go to UPTAKE_HOME/runs/RUN_ID/ (results.jsonl, summary.json, report.html). A stopped
    run loses nothing: --resume RUN_ID finishes it with the same settings and seeds. With
    --endpoint URL, MODEL is a model that OpenAI-compatible server serves (default: its only one); the
    run records the file's sha256 when the server gives it (`uptake serve` does), else "unverified".
    Exit status: 0 done, 1 generations failed (the rest is written; finish with --resume RUN_ID) or another
    failure, 2 a usage error, 130 stopped.
    """
    from uptake.audit.censorship.outputs import require_report_packages, write_outputs
    from uptake.audit.censorship.plan import AuditConfig, parse_langs, parse_topics
    from uptake.audit.censorship.probes import load_probe_set
    from uptake.audit.censorship.runs import RunIndex
    from uptake.audit.censorship.session import resumed_audit, started_audit
    from uptake.models.store import Store

    require_report_packages()
    probe_set = load_probe_set()
    index = RunIndex(Store().db_path)
    command = shlex.join(["uptake", *sys.argv[1:]])
    started = time.perf_counter()
    ray = _ray_backend(backend, endpoint, address, replicas, cpus_per_replica)
    server = _server(endpoint, model, adapter, api_key, concurrency)
    with ExitStack() as stack:
        if resume is not None:
            given = {"MODEL": model if server is None else None, "--adapter": adapter, "--quick": quick or None,
                     "--langs": langs,
                     "--samples": samples, "--topics": topics, "--baselines": baselines, "--max-tokens": max_tokens,
                     "--seed": seed,
                     "--judge": judge, "--mode": mode, "--out": out}
            _refuse_new_settings(given)
            resolve = partial(resolve_with_progress, quiet=json_output)
            session = stack.enter_context(
                resumed_audit(resume, index=index, command=command, judge_key=judge_key, resolve=resolve, ray=ray,
                              server=server, api_key=api_key)
            )
        else:
            config = AuditConfig.create(
                quick=quick, langs=parse_langs(langs) if langs else None, samples=samples or 1,
                topics=parse_topics(topics, probe_set) if topics else None, baselines=baselines,
                max_tokens=max_tokens, seed=seed or 0,
            )
            chosen = classifier_settings(judge, mode, judge_model, threshold)
            target = server or resolve_with_progress(with_adapter(model or get_settings().default_model, adapter),
                                                     json_output)
            session = stack.enter_context(
                started_audit(target, config, chosen, index=index, command=command, out=out, judge_key=judge_key,
                              ray=ray)
            )
        if session.settings.model.trust == "unverified":
            err_console.print(f"[yellow]warning:[/] {session.settings.model.path} gives no file hash for "
                              f"'{session.settings.model.name}': the run records the model as unverified.")
        outcome = _execute(session, stack, json_output)
    summary = write_outputs(outcome, probe_set, index)
    if json_output:
        print_json(summary)
    else:
        _print_outcome(summary, outcome.generated, outcome.failed, time.perf_counter() - started)
    if outcome.failed:  # the figures above lack these generations: a script must not take them as whole
        raise UptakeError(f"{outcome.failed} generations failed (the first: {outcome.errors[0]}); every other "
                          f"result is written. Finish with: uptake audit censorship --resume {outcome.settings.run_id}")


def _ray_backend(backend: Backend | None, endpoint: str | None, address: str | None, replicas: int | None,
                 cpus: int | None) -> RayOptions | None:
    """Ray settings when the audit runs there (a resumed audit runs where its flags say: local by default)."""
    from uptake.audit.censorship.plan import AUDIT_PARALLEL
    from uptake.cli.backends import backend_for, ray_options, refuse_ray_flags

    chosen = backend_for(backend, endpoint)
    refuse_ray_flags(chosen, address, replicas, cpus)
    if chosen is not Backend.ray:
        return None
    return ray_options(address, replicas, cpus, None, parallel=AUDIT_PARALLEL, context_size=get_settings().context_size)


def _server(endpoint: str | None, model: str | None, adapter: str | None, api_key: str | None,
            concurrency: int) -> HttpBatchEngine | None:
    """The server an audit sends its generations to (--endpoint); its model is named when the audit starts."""
    if endpoint is None:
        return None
    from uptake.executors.http_batch import HttpBatchEngine

    if adapter is not None:
        raise UsageError("--adapter applies to a model loaded here; a server applies its own (uptake serve "
                         "MODEL --adapter ADAPTER), so drop --adapter with --endpoint.")
    return HttpBatchEngine(endpoint, model or "", api_key=api_key, concurrency=concurrency)


def relabel(
    run: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run to label again (its id or folder).")],
    judge: JudgeOption = None,
    mode: ModeOption = None,
    judge_model: JudgeModelOption = "default",
    judge_key: JudgeKeyOption = None,
    threshold: ThresholdOption = 0.8,
    json_output: Annotated[bool, typer.Option("--json", help="Print summary.json instead of tables.")] = False,
) -> None:
    """Label a run's responses again, with this version's classifier or a judge; nothing is generated.

    results.jsonl, summary.json and report.html are rewritten (each atomically); run.json records the
    classifier used and the relabelling.
    """
    from uptake.audit.censorship.outputs import require_report_packages, write_outputs
    from uptake.audit.censorship.probes import load_probe_set
    from uptake.audit.censorship.runner import relabel as relabel_run
    from uptake.audit.censorship.runs import RunIndex
    from uptake.audit.censorship.session import open_classifier
    from uptake.models.store import Store

    require_report_packages()
    chosen = classifier_settings(judge, mode, judge_model, threshold)
    probe_set = load_probe_set()
    index = RunIndex(Store().db_path)
    started = time.perf_counter()
    with ExitStack() as stack:
        classifier = open_classifier(stack, chosen, judge_key)
        outcome = relabel_run(run, classifier, chosen, probe_set, index, shlex.join(["uptake", *sys.argv[1:]]))
    summary = write_outputs(outcome, probe_set, index)
    if json_output:
        print_json(summary)
        return
    _print_outcome(summary, 0, 0, time.perf_counter() - started)


def _refuse_new_settings(given: Mapping[str, object]) -> None:
    named = [name for name, value in given.items() if value is not None]
    if named:
        raise UsageError(f"--resume uses the run's own settings; drop {', '.join(named)}.")


def _execute(session: AuditSession, stack: ExitStack, quiet: bool) -> AuditOutcome:
    progress = stack.enter_context(_audit_progress(quiet=quiet))
    try:
        return session.execute(progress)
    except KeyboardInterrupt:
        raise InterruptedRunError(
            f"stopped; nothing written is lost. Finish with: uptake audit censorship --resume {session.settings.run_id}"
        ) from None


class _RichAuditProgress:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, total: int, done: int) -> None:
        self.task = self.progress.add_task("generating", total=total, completed=done)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, count)


@contextmanager
def _audit_progress(quiet: bool) -> Iterator[_RichAuditProgress]:
    with _progress(quiet) as progress:
        yield _RichAuditProgress(progress)


def _print_outcome(summary: dict[str, Any], generated: int, failed: int, elapsed_s: float) -> None:
    from uptake.audit.censorship.terminal import accuracy_line, baselines_line, headline_table
    run = summary["run"]
    console.print(headline_table(summary))
    if accuracy := accuracy_line(summary):
        console.print(accuracy, markup=False)
    console.print(baselines_line(summary), markup=False)
    console.print(
        f"run {run['id']}: {run['status']}; {generated} generations made in {elapsed_s:.0f} s", markup=False
    )
    if failed or run["status"] != "done":
        console.print(
            f"{summary['counts']['missing']} generations are missing; finish with: "
            f"uptake audit censorship --resume {run['id']}",
            markup=False,
        )
    console.print(f"results: {Path(run['directory']) / 'results.jsonl'}", markup=False)
    # The last line is the report's path alone, so scripts can take it with `tail -1`.
    console.print(str(Path(run["directory"]) / "report.html"), markup=False, soft_wrap=True)


def compare(
    runs: Annotated[list[str], typer.Argument(metavar="RUN_ID RUN_ID ...", help="Runs (ids or folders).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML page here.")] = None,
) -> None:
    """Put censorship audit runs side by side: the gap per language, and the safety baselines."""
    from uptake.atomic import write_text_atomically
    from uptake.audit.censorship.compare import compare_runs, load_summary, render_compare_html
    from uptake.audit.censorship.runs import RunIndex
    from uptake.models.store import Store

    index = RunIndex(Store().db_path)
    comparison = compare_runs([load_summary(run, index) for run in runs])
    if html is not None:
        write_text_atomically(html, render_compare_html(comparison))
    if json_output:
        print_json(comparison)
        return
    from uptake.audit.censorship.terminal import compare_table
    console.print(compare_table(comparison))
    for warning in comparison["warnings"]:
        console.print(f"note: {warning}", markup=False)
    if html is not None:
        console.print(str(html), markup=False, soft_wrap=True)


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet or not err_console.is_terminal,
        transient=True,
    )


def _print_summary(summary: dict[str, object]) -> None:
    by_lang = summary["by_lang"]
    assert isinstance(by_lang, dict)
    table = Table(title=f"{summary['rows']} responses labelled by {summary['classifier']}")
    labels = ("answered", "refused", "deflected", "state_narrative")
    table.add_column("lang")
    for label in labels:
        table.add_column(label, justify="right")
    for lang, counts in by_lang.items():
        table.add_row(lang, *(str(counts.get(label, 0)) for label in labels))
    console.print(table)
    console.print(f"language switches: {summary['lang_switches']}; written to {summary['out']}")
