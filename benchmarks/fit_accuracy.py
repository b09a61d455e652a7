"""How well does `uptake fit` predict? Bench every catalog model that can be pulled here and compare.

For each model: measured working set, prompt and decode tokens/s (1 and N sequences) against
- fit's prediction from the GGUF header (what `fit` uses once it can read the header),
- fit's prediction from the catalog fields alone (what `fit` falls back to offline),
- the prediction after calibration, fitted on the *other* models' measurements (leave one out),
and the physical limit: measured bandwidth ÷ bytes read per decode step.

Targets: memory within ±10 %; decode within ±20 % before calibration and ±10 % after.

    python benchmarks/fit_accuracy.py                       # pulls the models through the store
    python benchmarks/fit_accuracy.py --model-file smollm2:135m=/tmp/models/smol.gguf ...

Writes benchmarks/results/fit_accuracy.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _common import save

from uptake.fit.bench import BenchOptions, BenchReport, BenchTarget, bench_model
from uptake.fit.calibration import BenchRecord, Measured, fit_calibration
from uptake.fit.estimate import Calibration, Workload, estimate
from uptake.fit.probe import Probe, probe_this_machine
from uptake.fit.shape import shape_from_catalog
from uptake.models.catalog import load_catalog
from uptake.models.download import sha256_file
from uptake.settings import Settings, get_settings

MODELS = ["smollm2:135m", "gemma3:270m", "qwen2.5-coder:0.5b", "qwen2.5-coder:1.5b"]
TARGETS = {"memory": 0.10, "decode": 0.20, "decode_calibrated": 0.10}


@dataclass
class ModelResult:
    name: str
    report: BenchReport
    records: list[BenchRecord]


def parse_model_files(values: list[str]) -> dict[str, Path]:
    files = {}
    for value in values:
        name, separator, path = value.partition("=")
        if not separator or not Path(path).is_file():
            raise SystemExit(f"--model-file wants NAME=PATH with an existing file, got {value!r}")
        files[name] = Path(path)
    return files


def targets(names: list[str], files: dict[str, Path], settings: Settings) -> list[BenchTarget]:
    """Explicit files where given; the rest pulled by catalog name through the store."""
    found = []
    for name in names:
        if name in files:
            found.append(BenchTarget(name, files[name], sha256_file(files[name])))
            continue
        from uptake.models.pull import pull_model
        from uptake.models.store import Store

        stored, _ = pull_model(Store(settings), name)
        found.append(BenchTarget(name, stored.path, stored.sha256))
    return found


def wait_for_quiet(max_load: float, max_wait_s: float) -> float:
    """Poll the 1-minute load average until it drops below `max_load` (bounded); returns the last value.
    Other programs on a shared machine slow llama.cpp's threads down and would make fit look wrong."""
    deadline = time.monotonic() + max_wait_s
    load = os.getloadavg()[0]
    while load > max_load and time.monotonic() < deadline:
        time.sleep(5)
        load = os.getloadavg()[0]
    return load


def records_of(result: BenchReport, options: BenchOptions) -> list[BenchRecord]:
    return [
        BenchRecord(
            result.model,
            result.sha256,
            result.shape,
            Workload(options.context, run.parallel, options.prompt_tokens, options.decode_tokens, options.threads),
            options.threads,
            Measured(
                run.worker.load_s,
                run.worker.prompt_tokens_per_s,
                run.worker.decode_tokens_per_s,
                run.worker.decode_step_s_median,
                run.worker.working_set_bytes,
                run.worker.peak_rss_bytes,
            ),
        )
        for run in result.runs
    ]


def error(predicted: float, measured: float) -> float:
    return (predicted - measured) / measured


def rows_for(result: ModelResult, others: list[BenchRecord], probe: Probe) -> list[dict[str, Any]]:
    device = probe.profile
    calibration = fit_calibration(others, device) if others else Calibration()
    catalog_shape = shape_from_catalog(load_catalog().get(result.name))
    rows = []
    for run, record in zip(result.report.runs, result.records, strict=True):
        header = estimate(record.shape, record.workload, device)
        catalog = estimate(catalog_shape, record.workload, device)
        calibrated = estimate(record.shape, record.workload, device, calibration)
        measured = record.measured
        rows.append(
            {
                "model": result.name,
                "parallel": run.parallel,
                "load_s": measured.load_s,
                "memory": {
                    "measured_working_set": measured.working_set_bytes,
                    "measured_peak_rss": measured.peak_rss_bytes,
                    "predicted": header.memory.total,
                    "predicted_from_catalog": catalog.memory.total,
                    "calibrated": calibrated.memory.total,
                    "error": error(header.memory.total, measured.working_set_bytes),
                    "error_from_catalog": error(catalog.memory.total, measured.working_set_bytes),
                    "error_calibrated": error(calibrated.memory.total, measured.working_set_bytes),
                    "components": {
                        "weights": header.memory.weights,
                        "kv_cache": header.memory.kv_cache,
                        "compute": header.memory.compute,
                        "runtime": header.memory.runtime,
                    },
                },
                "prompt_tokens_per_s": {
                    "measured": measured.prompt_tokens_per_s,
                    "measured_wall_clock": max(sample.prompt_tokens_per_s for sample in run.samples),
                    "predicted": header.speed.prompt_tokens_per_s,
                    "calibrated": calibrated.speed.prompt_tokens_per_s,
                    "error": error(header.speed.prompt_tokens_per_s, measured.prompt_tokens_per_s),
                    "error_calibrated": error(calibrated.speed.prompt_tokens_per_s, measured.prompt_tokens_per_s),
                },
                "decode_tokens_per_s": {
                    "measured": measured.decode_tokens_per_s,
                    "measured_wall_clock": max(sample.decode_tokens_per_s for sample in run.samples),
                    "predicted": header.speed.decode_tokens_per_s_total,
                    "predicted_from_catalog": catalog.speed.decode_tokens_per_s_total,
                    "calibrated": calibrated.speed.decode_tokens_per_s_total,
                    "error": error(header.speed.decode_tokens_per_s_total, measured.decode_tokens_per_s),
                    "error_from_catalog": error(catalog.speed.decode_tokens_per_s_total, measured.decode_tokens_per_s),
                    "error_calibrated": error(calibrated.speed.decode_tokens_per_s_total, measured.decode_tokens_per_s),
                    "bound": header.speed.decode_bound,
                },
                "physical_limit": {
                    "bytes_per_step": header.speed.decode_bytes_per_step,
                    "bandwidth_bytes_per_s": device.bandwidth_for(record.workload.threads),
                    "limit_tokens_per_s": run.decode_limit_steps_per_s * run.parallel,
                    "share_of_limit": run.decode_share_of_limit,
                },
                "calibration": {"from_models": sorted({r.model_name for r in others}), "samples": calibration.samples},
                "repeats": [asdict(sample) for sample in run.samples],
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'model':<20} {'N':>2} {'memory MB meas/pred':>20} {'err':>6} {'cat':>6} "
        f"{'prompt t/s meas/pred':>21} {'err':>6} {'decode t/s meas/pred':>21} {'err':>6} {'cal':>6} "
        f"{'limit t/s':>9} {'of lim':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        memory, prompt, decode, limit = (
            row["memory"],
            row["prompt_tokens_per_s"],
            row["decode_tokens_per_s"],
            row["physical_limit"],
        )
        print(
            f"{row['model']:<20} {row['parallel']:>2} "
            f"{memory['measured_working_set'] / 1e6:>9.0f}/{memory['predicted'] / 1e6:<10.0f} "
            f"{memory['error']:>+6.1%} {memory['error_from_catalog']:>+6.1%} "
            f"{prompt['measured']:>9.1f}/{prompt['predicted']:<11.1f} {prompt['error']:>+6.1%} "
            f"{decode['measured']:>9.1f}/{decode['predicted']:<11.1f} {decode['error']:>+6.1%} "
            f"{decode['error_calibrated']:>+6.1%} {limit['limit_tokens_per_s']:>9.1f} {limit['share_of_limit']:>6.0%}"
        )


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def worst(figure: str, key: str) -> float:
        return max(abs(row[figure][key]) for row in rows)

    figures = {
        "memory_max_abs_error": worst("memory", "error"),
        "memory_max_abs_error_from_catalog": worst("memory", "error_from_catalog"),
        "decode_max_abs_error": worst("decode_tokens_per_s", "error"),
        "decode_max_abs_error_from_catalog": worst("decode_tokens_per_s", "error_from_catalog"),
        "decode_max_abs_error_calibrated": worst("decode_tokens_per_s", "error_calibrated"),
        "prompt_max_abs_error": worst("prompt_tokens_per_s", "error"),
        "prompt_max_abs_error_calibrated": worst("prompt_tokens_per_s", "error_calibrated"),
    }
    figures["targets"] = TARGETS
    figures["meets"] = {
        "memory": figures["memory_max_abs_error"] <= TARGETS["memory"],
        "decode": figures["decode_max_abs_error"] <= TARGETS["decode"],
        "decode_calibrated": figures["decode_max_abs_error_calibrated"] <= TARGETS["decode_calibrated"],
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model-file",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="use this GGUF for a catalog model instead of pulling it",
    )
    parser.add_argument("--models", nargs="*", default=MODELS)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--decode-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3, help="runs per setup; the fastest is kept")
    parser.add_argument(
        "--cpu-time", action="store_true", help="time by CPU time (needs --threads 1): the speed with a core to itself"
    )
    parser.add_argument(
        "--max-load",
        type=float,
        default=1.0,
        help="wait (up to --max-wait s) for the 1-minute load average to drop below this",
    )
    parser.add_argument("--max-wait", type=float, default=300.0)
    parser.add_argument("--reprobe", action="store_true", help="measure the machine again first")
    args = parser.parse_args()

    settings = get_settings()
    options = BenchOptions(
        context=args.ctx,
        threads=args.threads or settings.threads,
        parallel=args.parallel,
        prompt_tokens=args.prompt_tokens,
        decode_tokens=args.decode_tokens,
        batch=settings.batch_size,
        repeats=args.repeats,
        cpu_time=args.cpu_time,
    )
    found = targets(args.models, parse_model_files(args.model_file), settings)
    wait_for_quiet(args.max_load, args.max_wait)
    probe = probe_this_machine(settings, refresh=args.reprobe)
    results: list[ModelResult] = []
    loads: dict[str, float] = {}
    for target in found:
        loads[target.name] = wait_for_quiet(args.max_load, args.max_wait)
        print(f"benching {target.name} (load average {loads[target.name]:.2f})…", file=sys.stderr, flush=True)
        report = bench_model(target, options, probe, settings, calibration=Calibration(), store=False)
        results.append(ModelResult(target.name, report, records_of(report, options)))

    rows: list[dict[str, Any]] = []
    for result in results:
        others = [r for other in results if other is not result for r in other.records]
        for row in rows_for(result, others, probe):
            row["load_average"] = loads[result.name]
            rows.append(row)
    print_table(rows)
    figures = summary(rows)
    print({k: (f"{v:.1%}" if isinstance(v, float) else v) for k, v in figures.items()})
    path = save(
        "fit_accuracy",
        {
            "options": vars(args) | {"threads": options.threads},
            "timing": "CPU time of the one thread (the speed with a core to itself)" if args.cpu_time else "wall clock",
            "note": "fit's CPU speed factors and per-format kernel costs were fitted to runs like these on this "
            "machine, so 'error' (before calibration) is in-sample here; 'error_calibrated' calibrates "
            "on the other models only (leave one out).",
            "device": probe.profile.to_dict(),
            "shapes": {r.name: r.report.shape.to_dict() for r in results},
            "summary": figures,
            "rows": rows,
        },
    )
    print(f"saved {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
