"""`uptake scan --behaviour MODEL [--reference REF]`: the behavioural backdoor screen, after the file scan."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from uptake.cli.output import console, err_console, print_json
from uptake.errors import UptakeError, UsageError
from uptake.models.resolve import ResolvedModel, resolve_model
from uptake.models.store import Store
from uptake.scan.behaviour import reference as references
from uptake.scan.behaviour.labels import MIN_PROMPTS
from uptake.scan.behaviour.screen import BehaviourReport, Reference, Relation, ScreenedModel, screen
from uptake.scan.bom import write_bom
from uptake.scan.report import EXIT_FAILED, EXIT_USAGE, ScanReport
from uptake.settings import get_settings


class BehaviourUsageError(UsageError):
    exit_code = EXIT_USAGE


def _suspect(target: str) -> ResolvedModel:
    try:
        model = resolve_model(target, get_settings(), pull=False)
    except UptakeError as error:
        raise BehaviourUsageError(f"cannot screen '{target}': {error}") from None
    if model.adapter is not None:
        raise BehaviourUsageError("the behavioural screen reads whole models; merge the adapter or screen the base.")
    return model


def _reference(name: str | None, suspect: ResolvedModel) -> tuple[ScreenedModel, Relation]:
    settings = get_settings()
    if name is None:
        try:
            return references.choose(suspect, Store(settings))
        except UsageError as error:
            raise BehaviourUsageError(str(error)) from None
    try:
        resolved = resolve_model(name, settings, pull=True, on_pull=lambda n: err_console.print(f"pulling {n} …"))
    except UptakeError as error:
        raise BehaviourUsageError(f"cannot use '{name}' as the reference: {error}") from None
    found = references.relation(suspect.path, resolved.path)
    if found is None:
        raise BehaviourUsageError(
            f"{resolved.name} does not share the suspect's vocabulary, so their replies cannot be compared; "
            "name its claimed base or a model of the same family."
        )
    if resolved.path.resolve() == suspect.path.resolve():
        raise BehaviourUsageError("the reference is the suspect's own file; name its claimed base instead.")
    return references.screened(resolved), found


def _task_prompts(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise BehaviourUsageError(f"cannot read the task prompts {path}: {error.strerror}.") from None
    except UnicodeDecodeError:
        raise BehaviourUsageError(f"the task prompts {path} are not UTF-8 text; save them as UTF-8.") from None
    prompts = [line.strip() for line in lines if line.strip()]
    if len(prompts) < MIN_PROMPTS:
        raise BehaviourUsageError(
            f"{path} has {len(prompts)} non-empty line(s); give at least {MIN_PROMPTS} prompts, one a line, inputs "
            "of every class."
        )
    return prompts


def _print(report: BehaviourReport) -> None:
    style = "bold red" if report.suspicious else "green"
    head = Text()
    head.append(f"{report.verdict.upper():<10}", style=style)
    head.append(
        f" behaviour of {report.suspect.name} against {report.reference.name} ({report.relation}, "
        f"{report.duration_s:.0f} s)"
    )
    console.print(head, highlight=False)
    for reason in report.reasons():
        console.print(f"  {reason}", highlight=False)
    for note in report.notes():
        console.print(f"  note: {note}", style="dim", highlight=False)
    table = Table(box=None, pad_edge=False, show_header=True)
    for column in ("measurement", "score", "threshold", "evidence"):
        table.add_column(column)
    best = report.inversion.best
    evidence = "" if best is None else f"{best.text!r} (agreement {best.agreement:.2f}, gap {best.gap:.2f} nats)"
    table.add_row(
        "target inversion", f"{report.inversion.score:.2f}", f"{report.inversion_threshold}", Text(evidence[:100])
    )
    trigger = report.leakage.candidates[0] if report.leakage.candidates else None
    evidence = "" if trigger is None else f"{trigger.text!r} (divergence {trigger.divergence:.2f} nats)"
    table.add_row("trigger leakage", f"{report.leakage.score:.2f}", f"{report.leakage_threshold}", Text(evidence[:100]))
    if report.labels is not None and report.labels.measured:
        readiness = ", ".join(f"{label!r} {value:.1f}" for label, value in report.labels.readiness.items())
        table.add_row(
            "label bias",
            f"{report.label_bias:.2f}",
            f"{report.label_bias_threshold}",
            Text(f"leans to {report.labels.target!r} (median margins: {readiness} nats)"[:100]),
        )
    console.print(table)
    if report.weights is not None:
        weights = report.weights
        if not weights.comparable:
            console.print(f"  weights: not compared ({weights.reason})", style="dim", highlight=False)
        else:
            console.print(
                f"  weights: {len(weights.changed)} of {weights.tensors} tensors changed "
                f"({', '.join(weights.changed_kinds()) or 'none'}; layers {_spans(weights.changed_layers())})",
                style="dim",
                highlight=False,
            )


def _spans(layers: list[int]) -> str:
    """Layer numbers as ranges: 0-3, 7."""
    values = sorted(layers)
    if not values:
        return "none"
    spans: list[str] = []
    start = previous = values[0]
    for value in [*values[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        spans.append(str(start) if start == previous else f"{start}-{previous}")
        if value is not None:
            start = previous = value
    return ", ".join(spans)


def screen_behaviour(
    target: str,
    reference_name: str | None,
    file_report: ScanReport,
    *,
    json_output: bool,
    bom: Path | None,
    strict: bool,
    task_prompts: Path | None = None,
) -> None:
    prompts = None if task_prompts is None else _task_prompts(task_prompts)
    file_exit = file_report.exit_code(strict)
    if file_exit == EXIT_FAILED:
        if json_output:
            print_json({"file_scan": file_report.to_dict(), "behaviour": None})
        err_console.print("not screened: the file scan found the file dangerous or unreadable, so it is not loaded.")
        raise typer.Exit(file_exit)
    resolved = _suspect(target)
    reference_model, relation = _reference(reference_name, resolved)
    suspect = references.screened(resolved)
    settings = get_settings()
    with err_console.status("loading the reference") as status:
        loaded = Reference.load(reference_model, settings.threads)
        try:
            report = screen(
                suspect,
                loaded,
                relation=relation,
                threads=settings.threads,
                progress=lambda step: status.update(step),
                task_prompts=prompts,
            )
        finally:
            loaded.close()
    if bom is not None:
        try:
            write_bom(file_report, bom, model_properties=report.bom_properties())
        except OSError as error:
            raise BehaviourUsageError(
                f"cannot write the ML-BOM to {bom}: {error.strerror}; choose another path."
            ) from None
    if json_output:
        print_json({**report.to_dict(), "file_scan": file_report.to_dict()})
    else:
        _print(report)
        if bom is not None:
            err_console.print(f"ML-BOM written to {bom}")
    raise typer.Exit(max(file_exit, report.exit_code))
