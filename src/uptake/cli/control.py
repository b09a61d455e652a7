"""`uptake control decensor / list / show / rm`: make, list and inspect adapters that edit a model."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from uptake.cli.options import JsonOption, ThreadsOption
from uptake.cli.output import console, err_console, human_bytes, print_json, resolve_with_progress
from uptake.errors import EXIT_FAILURE, UsageError
from uptake.models.resolve import ADAPTER_SEPARATOR
from uptake.models.store import AdapterStore, Store, StoredAdapter
from uptake.settings import get_settings

KEEP_CHOICES = ("harm", "none")


def adapter_summary(adapter: StoredAdapter) -> dict[str, Any]:
    lineage = adapter.lineage
    return {
        "name": adapter.name,
        "use_as": adapter.reference,
        "sha256": adapter.sha256,
        "size": adapter.size,
        "base_name": adapter.base_name,
        "base_sha256": adapter.base_sha256,
        "kind": lineage.get("kind"),
        "keep": lineage.get("keep"),
        "created_at": adapter.created_at,
    }


def decensor(
    model: Annotated[str, typer.Argument(help="The base model: a store or catalog name.")] = "",
    keep: Annotated[
        str, typer.Option("--keep", help="What refusals to keep: 'harm' (default) or 'none' (remove refusal as such, "
                     "political and harm alike: the abliteration baseline).")
    ] = "harm",
    trials: Annotated[
        int,
        typer.Option(
            "--trials", min=1, max=1000, help="Search trials (about a minute each on 2 cores for a 0.5B model)."
        ),
    ] = 24,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the search; the same seed proposes the same trials.")
    ] = 0,
    out: Annotated[
        str | None,
        typer.Option("--out", help="Adapter name in the store (default: decensored, or abliterated with --keep none)."),
    ] = None,
    parallel: Annotated[int, typer.Option("--parallel", min=1, max=64, help="Answers decoded together.")] = 8,
    threads: ThreadsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Edit political refusal out of a GGUF model as a LoRA adapter, keeping harm refusals; resumable.

    Directions are found in the model's activations (read from llama.cpp) on the audit's dev topics, an
    Optuna search scores edits on half of the held-out topics, and the report uses the other half.
    Exit 0: the adapter is in the store and the search met its constraints (harm refusals, neutral KL);
    1: the adapter is stored but no trial met them (the report says by how much).
    """
    from uptake.control.search import DecensorOptions, run_folder
    from uptake.control.search import decensor as run_decensor
    from uptake.engines.loader import load_engine

    if keep not in KEEP_CHOICES:
        raise UsageError(f"--keep must be one of {', '.join(KEEP_CHOICES)}, not '{keep}'.")
    name = out or ("decensored" if keep == "harm" else "abliterated")
    settings = get_settings()
    resolved = resolve_with_progress(model or settings.default_model, json_output)
    if resolved.adapter is not None:
        raise UsageError(f"decensor edits a base model; give {resolved.name.split(ADAPTER_SEPARATOR)[0]} alone.")
    options = DecensorOptions(keep_harm=keep == "harm", trials=trials, seed=seed)
    folder = run_folder(settings.home, resolved, options)
    engine = load_engine(resolved, parallel=parallel, threads=threads, context_size=parallel * 1024)
    try:
        result = run_decensor(engine, resolved, options, folder, note=lambda text: err_console.print(f"[dim]{text}[/]"))
    finally:
        engine.close()
    stored = AdapterStore(Store(settings)).add(
        result.adapter, name=name, base_sha256=resolved.file_sha256(), base_name=resolved.name, lineage=result.lineage
    )
    met = result.constraints_met
    if json_output:
        print_json({**adapter_summary(stored), "folder": str(folder), "constraints_met": met, "report": result.report})
    else:
        _print_report(result.report)
        console.print(
            f"adapter {stored.name} ({human_bytes(stored.size)}) stored; use it as "
            f"[bold]{stored.reference}[/] or with --adapter {stored.name}. Run folder: {folder}"
        )
        if not met:
            err_console.print("no trial kept harm refusals and neutral KL within bounds; the best one is stored.")
    if not met:
        raise typer.Exit(EXIT_FAILURE)


def _print_report(report: dict[str, Any]) -> None:
    table = Table(title="held-out topics: base → edited")
    for column in ("", "base", "edited"):
        table.add_column(column)
    base, edited = report["base"], report["edited"]
    for lang in base["gaps"]:
        cells = [
            f"{g['gap']:+.0%} [{g['low']:+.0%}, {g['high']:+.0%}]" for g in (base["gaps"][lang], edited["gaps"][lang])
        ]
        table.add_row(f"political gap {lang}", *cells)
    table.add_row("harm refusals", f"{base['harm_refusal']['rate']:.0%}", f"{edited['harm_refusal']['rate']:.0%}")
    table.add_row("neutral first-token KL", "0", f"{edited['neutral_kl']:.4f}")
    console.print(table)


def list_(json_output: JsonOption = False) -> None:
    """The adapters in the store, with the base each was made for."""
    adapters = AdapterStore(Store()).list()
    if json_output:
        print_json([adapter_summary(adapter) for adapter in adapters])
        return
    if not adapters:
        console.print("no adapters yet; make one with 'uptake control decensor MODEL'.")
        return
    table = Table()
    for column in ("name", "use as", "size", "kind", "created"):
        table.add_column(column)
    for adapter in adapters:
        table.add_row(
            adapter.name,
            adapter.reference,
            human_bytes(adapter.size),
            str(adapter.lineage.get("kind", "")),
            adapter.created_at,
        )
    console.print(table)


def show(
    name: Annotated[str, typer.Argument(help="An adapter name.")],
    json_output: JsonOption = False,
) -> None:
    """An adapter's lineage: base hash, directions, search parameters, scores."""
    adapter = AdapterStore(Store()).resolve(name)
    data = {**adapter_summary(adapter), "lineage": adapter.lineage}
    if json_output:
        print_json(data)
        return
    console.print(
        f"[bold]{adapter.name}[/]  made for {adapter.base_name} ({adapter.base_sha256[:12]}), "
        f"{human_bytes(adapter.size)}, sha256 {adapter.sha256[:12]}"
    )
    scores = adapter.lineage.get("scores")
    if isinstance(scores, dict) and "base" in scores and "edited" in scores:
        _print_report(scores)
    console.print(f"plan: {adapter.lineage.get('plan')}")


def rm(name: Annotated[str, typer.Argument(help="An adapter name.")]) -> None:
    """Remove an adapter from the store (its base model stays)."""
    removed = AdapterStore(Store()).remove(name)
    console.print(f"removed adapter {removed.name} ({removed.sha256[:12]}).")
