"""`uptake scan`: check model files, folders or stored models before anything loads them; with --behaviour,
also screen one model's behaviour for a planted backdoor.

Exit codes: 0 clean, 1 warnings, 2 dangerous or unreadable (or warnings with --strict) or, with --behaviour,
suspicious, 3 usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from uptake.cli.output import console, err_console, human_bytes, print_json
from uptake.errors import UptakeError, UsageError
from uptake.models.catalog import load_catalog
from uptake.models.store import Store
from uptake.scan.bom import write_bom
from uptake.scan.checks.pickle_globals import USER_ALLOWED, read_allow_list
from uptake.scan.report import EXIT_USAGE, FileReport, Finding, ScanReport, Severity, Verdict
from uptake.scan.scanner import Target, scan_targets
from uptake.settings import get_settings

VERDICT_STYLES = {
    Verdict.CLEAN: "green",
    Verdict.WARNING: "yellow",
    Verdict.UNREADABLE: "magenta",
    Verdict.DANGEROUS: "bold red",
}
SEVERITY_STYLES = {
    Severity.INFO: "dim",
    Severity.WARNING: "yellow",
    Severity.ERROR: "magenta",
    Severity.DANGEROUS: "bold red",
}


class ScanUsageError(UsageError):
    """A scan target that is neither a path nor a model in the store."""

    exit_code = EXIT_USAGE


def _resolve(target: str) -> Target:
    path = Path(target).expanduser()
    if path.exists():
        return Target(path)
    try:
        stored = Store(get_settings()).resolve(target)
    except UptakeError as error:
        raise ScanUsageError(f"'{target}' is not a file, a folder or a model in the store ({error})") from None
    # The blob is hashed again: the point of a scan is not to trust what was recorded.
    return Target(stored.path, claimed=load_catalog().entries.get(stored.name))


def _finding_line(finding: Finding) -> Text:
    where = finding.location.describe()
    line = Text("  ")
    line.append(f"{finding.severity.value:<9}", style=SEVERITY_STYLES[finding.severity])
    line.append(f" {finding.rule}  ")
    line.append(finding.message)
    if where:
        line.append(f"  [{where}]", style="dim")
    if finding.evidence and finding.severity is not Severity.INFO:
        line.append(f"\n             {finding.evidence.splitlines()[0][:160]}", style="dim")
    return line


def _print_file(report: FileReport) -> None:
    verdict = report.verdict
    head = Text()
    head.append(f"{verdict.value.upper():<10}", style=VERDICT_STYLES[verdict])
    head.append(f" {report.path}  ({report.format}, {human_bytes(report.size)})")
    console.print(head)
    if report.provenance is not None:
        console.print(f"  provenance: {report.provenance.statement}", style="dim", highlight=False)
    for finding in report.findings:
        if finding.rule.startswith("PROV00") and finding.severity is Severity.INFO:
            continue  # already said on the provenance line
        console.print(_finding_line(finding), highlight=False)


def _print_report(report: ScanReport) -> None:
    for file in report.files:
        _print_file(file)
    counts = {verdict: 0 for verdict in Verdict}
    for file in report.files:
        counts[file.verdict] += 1
    table = Table(show_header=False, box=None, pad_edge=False)
    summary = ", ".join(f"{count} {verdict.value}" for verdict, count in counts.items() if count)
    table.add_row(f"{len(report.files)} file(s): {summary} ({report.duration_s:.2f} s)")
    console.print(table)


def scan(
    targets: Annotated[
        list[str] | None, typer.Argument(help="Model files, model folders, or names of models in the store.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON (schema uptake.scan/1).")
    ] = False,
    bom: Annotated[Path | None, typer.Option("--bom", help="Also write a CycloneDX ML-BOM to this file.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as failures (exit 2).")] = False,
    allow_globals: Annotated[
        Path | None,
        typer.Option(
            "--allow-globals",
            help="A file of classes to trust in pickles, one 'module.Class' or 'module.*' a line; it never clears "
            "a dangerous import.",
        ),
    ] = None,
    behaviour: Annotated[
        bool,
        typer.Option(
            "--behaviour",
            help="Also screen the model's behaviour for a planted backdoor (trigger → fixed reply) against a "
            "reference model; one GGUF model, minutes on a CPU.",
        ),
    ] = False,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="With --behaviour: the claimed base (weights are compared too) or any model with the same "
            "vocabulary. Default: the best match in the store.",
        ),
    ] = None,
    task_prompts: Annotated[
        Path | None,
        typer.Option(
            "--task-prompts",
            help="With --behaviour, for a classifier fine-tune: a text file of inputs of its task, one prompt a "
            "line (at least 8, of every class). Adds label bias: does it lean toward one label, as a label "
            "flip makes it.",
        ),
    ] = None,
) -> None:
    """Scan model files for code that runs on load, hostile chat templates and malformed headers."""
    if not targets:
        raise ScanUsageError("give at least one model file, folder or stored model name to scan.")
    if reference is not None and not behaviour:
        raise ScanUsageError("--reference is for the behavioural screen; add --behaviour.")
    if task_prompts is not None and not behaviour:
        raise ScanUsageError("--task-prompts is for the behavioural screen; add --behaviour.")
    if behaviour and len(targets) != 1:
        raise ScanUsageError("--behaviour screens one model at a time; give one model name or GGUF file.")
    allowed: frozenset[str] = frozenset()
    if allow_globals is not None:
        try:
            allowed = read_allow_list(allow_globals)
        except OSError as error:
            raise ScanUsageError(f"cannot read the allow-list {allow_globals}: {error.strerror}.") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise ScanUsageError(f"{error}; fix that line of the allow-list.") from None
    token = USER_ALLOWED.set(allowed)
    try:
        report = scan_targets([_resolve(target) for target in targets])
    finally:
        USER_ALLOWED.reset(token)
    if behaviour:
        from uptake.cli.behaviour import screen_behaviour  # loads llama.cpp: only when asked

        screen_behaviour(
            targets[0], reference, report, json_output=json_output, bom=bom, strict=strict, task_prompts=task_prompts
        )
    if bom is not None:
        try:
            write_bom(report, bom)
        except OSError as error:
            raise ScanUsageError(f"cannot write the ML-BOM to {bom}: {error.strerror}; choose another path.") from None
    if json_output:
        print_json(report.to_dict())
    else:
        _print_report(report)
        if bom is not None:
            err_console.print(f"ML-BOM written to {bom}")
    raise typer.Exit(report.exit_code(strict))

