"""`uptake fit` (which catalog model suits a device) and `uptake bench` (measure models on this machine)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated, Any

import typer
from rich.table import Table

from uptake.cli.options import JsonOption
from uptake.cli.output import console, err_console, human_count, print_json, resolve_with_progress
from uptake.fit.bench import BenchOptions, BenchReport, Comparison, bench_model, bench_target
from uptake.fit.calibration import fit_calibration, load_records
from uptake.fit.estimate import Calibration, Workload
from uptake.fit.probe import probe_this_machine
from uptake.fit.profiles import GB, DeviceProfile, load_all_profiles, load_profile
from uptake.fit.recommend import Constraints, FitResult, ShapeResolver, fit_catalog
from uptake.settings import get_settings

ALL_LAYERS = 999

def _device(name: str, reprobe: bool) -> tuple[DeviceProfile, Calibration]:
    """The profile, and for `this` the calibration this machine's bench results give."""
    settings = get_settings()
    if name != "this":
        return load_profile(name), Calibration()
    probe = probe_this_machine(settings, refresh=reprobe)
    return probe.profile, fit_calibration(load_records(settings, probe.fingerprint), probe.profile)


def _print_devices(json_output: bool) -> None:
    profiles = load_all_profiles()
    if json_output:
        print_json([p.to_dict() for p in profiles])
        return
    table = Table("profile", "kind", "memory", "bandwidth", "compute", "description")
    for p in profiles:
        table.add_row(
            p.name,
            p.kind,
            f"{p.memory_bytes / GB:.0f} GB",
            f"{p.bandwidth_bytes_per_s / GB:.0f} GB/s",
            f"{p.compute_flops / 1e12:.2f} TFLOPS",
            p.description,
        )
    console.print(table)
    console.print("and 'this': this machine, measured (memory, bandwidth, compute) and cached.")


def _print_fit(result: FitResult) -> None:
    device = result.device
    table = Table("", "model", "params", "quant", "memory", "prompt t/s", "decode t/s", "verdict")
    for candidate in result.candidates:
        speed = candidate.estimate.speed
        mark = "★" if candidate is result.recommended else ""
        verdict = "fits" if candidate.fits else "; ".join(candidate.reasons)
        table.add_row(
            mark,
            candidate.entry.name,
            human_count(candidate.entry.parameters),
            candidate.entry.quantization,
            f"{candidate.estimate.memory.total / GB:.2f} GB",
            f"{speed.prompt_tokens_per_s:,.0f}",
            f"{speed.decode_tokens_per_s:,.1f}",
            verdict,
            style=None if candidate.fits else "dim",
        )
    console.print(f"[bold]{device.name}[/]: {device.description}")
    console.print(
        f"{device.usable_bytes / GB:.1f} GB usable, {device.bandwidth_bytes_per_s / GB:.1f} GB/s "
        f"({device.bandwidth_basis}), {device.compute_flops / 1e12:.2f} TFLOPS ({device.compute_basis}); "
        f"context {result.workload.context} × {result.workload.parallel} sequence(s); "
        f"decode speed with {result.workload.decode_position:.0f} tokens cached"
        + (f"; calibrated by {result.calibration.samples} bench run(s)" if not result.calibration.is_identity else "")
    )
    console.print(table)
    if result.recommended:
        console.print(
            f"recommended: [bold]{result.recommended.entry.name}[/] (the largest variant that meets every constraint)"
        )
    else:
        console.print("no catalog variant meets the constraints; see the reasons above.")
    for note in result.notes:
        err_console.print(f"note: {note}")


def fit(
    device: Annotated[
        str, typer.Option("--device", help="A profile name, a profile .toml file, or 'this' (measure this machine).")
    ] = "this",
    ctx: Annotated[
        int | None, typer.Option("--ctx", min=64, help="Context tokens per sequence (default: UPTAKE_CONTEXT_SIZE).")
    ] = None,
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="Sequences served at once.")] = 1,
    min_tokens_per_second: Annotated[
        float | None,
        typer.Option("--min-tokens-per-second", min=0.0, help="Reject variants that decode slower than this."),
    ] = None,
    max_memory: Annotated[
        float | None, typer.Option("--max-memory", min=0.0, help="Reject variants that need more than this many GB.")
    ] = None,
    family: Annotated[str | None, typer.Option("--family", help="Only this model family.")] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not read headers from the model hub; use the catalog's figures.")
    ] = False,
    reprobe: Annotated[bool, typer.Option("--reprobe", help="Measure this machine again.")] = False,
    list_devices: Annotated[bool, typer.Option("--list-devices", help="List the device profiles.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Which catalog model fits a device, how much memory it needs and how fast it will answer."""
    if list_devices:
        _print_devices(json_output)
        return
    status = (
        err_console.status("measuring this machine…")
        if device == "this" and not json_output and err_console.is_terminal
        else nullcontext()
    )
    with status:
        profile, calibration = _device(device, reprobe)
    constraints = Constraints(
        min_tokens_per_second=min_tokens_per_second,
        max_memory_bytes=int(max_memory * GB) if max_memory is not None else None,
        family=family,
    )
    resolver = ShapeResolver(get_settings(), offline=offline)
    try:
        workload = Workload(context=ctx or get_settings().context_size, parallel=parallel)
        result = fit_catalog(profile, workload, constraints, resolver, calibration)
    finally:
        resolver.close()
    if json_output:
        print_json(result.to_dict())
    else:
        _print_fit(result)


def _cell(comparison: Comparison, scale: float = 1.0, digits: int = 1) -> str:
    text = (
        f"{comparison.measured / scale:,.{digits}f} / {comparison.predicted / scale:,.{digits}f} "
        f"({comparison.error:+.0%})"
    )
    if comparison.calibrated_error is not None:
        text += f" cal {comparison.calibrated_error:+.0%}"
    return text


def _print_bench(reports: list[BenchReport]) -> None:
    table = Table("model", "seqs", "load s", "memory GB: measured / predicted", "prompt t/s", "decode t/s", "of limit")
    for report in reports:
        for run in report.runs:
            table.add_row(
                report.model,
                str(run.parallel),
                f"{run.worker.load_s:.2f}",
                _cell(run.memory, GB, 2),
                _cell(run.prompt),
                _cell(run.decode),
                f"{run.decode_share_of_limit:.0%}",
            )
    console.print(table)
    console.print(
        "errors are (predicted - measured) / measured; 'of limit': decode steps/s against "
        "measured bandwidth ÷ bytes read per step."
    )


def bench(
    models: Annotated[
        list[str] | None, typer.Argument(help="Store names or .gguf paths (default: the default model).")
    ] = None,
    ctx: Annotated[int, typer.Option("--ctx", min=64, help="Context tokens per sequence.")] = 2048,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="CPU threads (default: cores).")] = None,
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="Also measure N sequences at once.")] = 4,
    prompt_tokens: Annotated[int, typer.Option("--prompt-tokens", min=1)] = 64,
    decode_tokens: Annotated[int, typer.Option("--decode-tokens", min=1)] = 64,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="Measure each setup this many times and keep the fastest.")
    ] = 1,
    cpu_time: Annotated[
        bool,
        typer.Option(
            "--cpu-time", help="Time by CPU time, not the wall clock (with --threads 1, on a shared machine)."
        ),
    ] = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not keep the results for calibration.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Measure models on this machine and set the figures beside fit's prediction."""
    settings = get_settings()
    options = BenchOptions(
        context=ctx,
        threads=threads or settings.threads,
        parallel=parallel,
        prompt_tokens=prompt_tokens,
        decode_tokens=decode_tokens,
        batch=settings.batch_size,
        repeats=repeats,
        cpu_time=cpu_time,
    )
    # Resolved first, so a mistyped name fails at once rather than after measuring the machine.
    targets = [bench_target(resolve_with_progress(model, json_output)) for model in models or [settings.default_model]]
    probe = probe_this_machine(settings)
    # fit predicts `this` on its GPU when llama.cpp here can offload; bench then measures it there.
    gpu_layers = ALL_LAYERS if probe.profile.kind != "cpu" else 0
    reports: list[BenchReport] = []
    for target in targets:
        show = not json_output and err_console.is_terminal
        with err_console.status(f"benching {target.name}…") if show else nullcontext():
            reports.append(bench_model(target, options, probe, settings, store=not no_store, gpu_layers=gpu_layers))
    if json_output:
        output: dict[str, Any] = {"device": probe.profile.to_dict(), "reports": [r.to_dict() for r in reports]}
        print_json(output)
    else:
        _print_bench(reports)

