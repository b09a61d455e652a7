"""`uptake bench`: measure models on this machine, store the figures, and set them beside fit's prediction.

Each measurement runs in a fresh process (uptake.fit.bench_worker), so its peak memory is the model's
own: load time, working set, prompt tokens/s, and decode tokens/s with 1 and with N sequences.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import uptake
from uptake.errors import EngineError, UsageError
from uptake.fit.bench_worker import WorkerConfig, WorkerResult
from uptake.fit.calibration import BenchRecord, Measured, fit_calibration, load_records, save_record
from uptake.fit.estimate import Calibration, Estimate, Workload, estimate
from uptake.fit.probe import Probe
from uptake.fit.shape import ModelShape, shape_from_header
from uptake.models.gguf_header import GGUFFormatError, read_gguf_header
from uptake.models.resolve import ResolvedModel
from uptake.settings import Settings

WORKER_TIMEOUT_S = 1800


@dataclass(frozen=True)
class BenchOptions:
    context: int = 2048
    threads: int = 2
    parallel: int = 4
    prompt_tokens: int = 64
    decode_tokens: int = 64
    batch: int = 512
    repeats: int = 1
    # Time by the CPU the work got instead of the wall clock (one thread only): on a machine that
    # other programs share, this is the speed the model has with a core to itself.
    cpu_time: bool = False

    def __post_init__(self) -> None:
        if self.prompt_tokens + self.decode_tokens > self.context:
            raise UsageError(
                f"--prompt-tokens + --decode-tokens ({self.prompt_tokens + self.decode_tokens}) must fit "
                f"in --ctx ({self.context}); raise --ctx or ask for fewer tokens."
            )
        if self.cpu_time and self.threads != 1:
            raise UsageError("--cpu-time needs --threads 1 (with more threads, waiting threads burn CPU time).")
        if min(self.threads, self.parallel, self.prompt_tokens, self.decode_tokens, self.repeats) < 1:
            raise UsageError(
                "--threads, --parallel, --prompt-tokens, --decode-tokens and --repeats must be at least 1."
            )

    def parallel_levels(self) -> list[int]:
        return sorted({1, self.parallel})


@dataclass(frozen=True)
class BenchTarget:
    name: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class Comparison:
    """One figure measured and predicted; error is (predicted - measured) / measured."""

    measured: float
    predicted: float
    calibrated: float | None

    @property
    def error(self) -> float:
        return (self.predicted - self.measured) / self.measured if self.measured else math.nan

    @property
    def calibrated_error(self) -> float | None:
        if self.calibrated is None or not self.measured:
            return None
        return (self.calibrated - self.measured) / self.measured

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "error": self.error, "calibrated_error": self.calibrated_error}


@dataclass(frozen=True)
class BenchRun:
    parallel: int
    worker: WorkerResult  # the repeats combined: see best_of
    memory: Comparison
    prompt: Comparison
    decode: Comparison
    # The physical limit: measured bandwidth ÷ bytes read per decode step, in steps per second.
    decode_limit_steps_per_s: float
    decode_share_of_limit: float
    samples: tuple[WorkerResult, ...] = ()  # each repeat as measured, with both clocks


@dataclass
class BenchReport:
    model: str
    sha256: str
    shape: ModelShape
    options: BenchOptions
    device: dict[str, Any]
    runs: list[BenchRun] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "sha256": self.sha256,
            "options": asdict(self.options),
            "device": self.device,
            "shape": self.shape.to_dict(),
            "runs": [
                {
                    "parallel": run.parallel,
                    "load_s": run.worker.load_s,
                    "peak_rss_bytes": run.worker.peak_rss_bytes,
                    "working_set_bytes": run.worker.working_set_bytes,
                    "memory": run.memory.to_dict(),
                    "prompt_tokens_per_s": run.prompt.to_dict(),
                    "decode_tokens_per_s": run.decode.to_dict(),
                    "decode_limit_tokens_per_s": run.decode_limit_steps_per_s * run.parallel,
                    "decode_share_of_limit": run.decode_share_of_limit,
                }
                for run in self.runs
            ],
        }


def bench_target(model: ResolvedModel) -> BenchTarget:
    """What bench measures and records: the name, the file and its content hash."""
    return BenchTarget(model.name, model.path, model.file_sha256())


def read_shape(target: BenchTarget) -> ModelShape:
    try:
        header = read_gguf_header(target.path)
    except GGUFFormatError as error:
        raise UsageError(f"{target.path}: {error}; the file is damaged, pull it again.") from error
    return shape_from_header(header, name=target.name, basis="file")


def run_worker(config: WorkerConfig, timeout_s: float = WORKER_TIMEOUT_S) -> WorkerResult:
    """Run one measurement in a fresh interpreter; its stderr is shown only when it fails."""
    package_root = str(Path(uptake.__file__).resolve().parent.parent)
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p),
    }
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "uptake.fit.bench_worker"],
            input=json.dumps(asdict(config)),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise EngineError(f"bench of {config.model_path} ran past {timeout_s:.0f} s and was stopped.") from error
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
        raise EngineError(f"bench of {config.model_path} failed (exit {completed.returncode}): {tail}")
    return WorkerResult(**json.loads(lines[-1]))


def timed(result: WorkerResult, cpu_time: bool) -> WorkerResult:
    """The result with its speeds taken from the chosen clock."""
    if not cpu_time:
        return result
    if result.decode_step_cpu_s_median is None or result.prompt_tokens_per_s_cpu is None:
        raise EngineError("the worker measured no CPU time; --cpu-time needs --threads 1.")
    return replace(
        result,
        prompt_tokens_per_s=result.prompt_tokens_per_s_cpu,
        decode_tokens_per_s=result.decode_tokens_per_s_cpu or 0.0,
        decode_step_s_median=result.decode_step_cpu_s_median,
    )


def best_of(samples: list[WorkerResult]) -> WorkerResult:
    """Repeats combined: the fastest decode and prompt, the shortest load, the median memory.

    Other programs on a machine only ever slow a run down, so the fastest run is the closest to what
    the machine can do; memory does not depend on them, so its median is kept.
    """
    fastest = min(samples, key=lambda s: s.decode_step_s_median)
    by_memory = sorted(samples, key=lambda s: s.working_set_bytes)[len(samples) // 2]
    return replace(
        fastest,
        load_s=min(s.load_s for s in samples),
        prompt_tokens_per_s=max(s.prompt_tokens_per_s for s in samples),
        working_set_bytes=by_memory.working_set_bytes,
        peak_rss_bytes=by_memory.peak_rss_bytes,
    )


def _workload(options: BenchOptions, parallel: int) -> Workload:
    return Workload(
        context=options.context,
        parallel=parallel,
        prompt_tokens=options.prompt_tokens,
        decode_tokens=options.decode_tokens,
        threads=options.threads,
    )


def _compare(measured: WorkerResult, plain: Estimate, calibrated: Estimate | None) -> tuple[Comparison, ...]:
    def pick(estimate_: Estimate | None, figure: str) -> float | None:
        if estimate_ is None:
            return None
        values = {
            "memory": float(estimate_.memory.total),
            "prompt": estimate_.speed.prompt_tokens_per_s,
            "decode": estimate_.speed.decode_tokens_per_s_total,
        }
        return values[figure]

    return (
        Comparison(float(measured.working_set_bytes), pick(plain, "memory") or 0.0, pick(calibrated, "memory")),
        Comparison(measured.prompt_tokens_per_s, pick(plain, "prompt") or 0.0, pick(calibrated, "prompt")),
        Comparison(measured.decode_tokens_per_s, pick(plain, "decode") or 0.0, pick(calibrated, "decode")),
    )


def bench_model(
    target: BenchTarget,
    options: BenchOptions,
    probe: Probe,
    settings: Settings,
    *,
    calibration: Calibration | None = None,
    store: bool = True,
    gpu_layers: int = 0,
) -> BenchReport:
    """Measure `target` at each parallel level; compare with fit's prediction, then record the results.

    `calibration` defaults to what this machine's earlier bench records give (not this run's).
    """
    shape = read_shape(target)
    device = probe.profile
    if calibration is None:
        calibration = fit_calibration(load_records(settings, probe.fingerprint), device)
    report = BenchReport(target.name, target.sha256, shape, options, device.to_dict())
    for parallel in options.parallel_levels():
        config = WorkerConfig(
            model_path=str(target.path),
            context=options.context,
            parallel=parallel,
            threads=options.threads,
            batch=options.batch,
            prompt_tokens=options.prompt_tokens,
            decode_tokens=options.decode_tokens,
            gpu_layers=gpu_layers,
        )
        samples = [run_worker(config) for _ in range(options.repeats)]
        result = best_of([timed(sample, options.cpu_time) for sample in samples])
        workload = _workload(options, parallel)
        plain = estimate(shape, workload, device)
        calibrated = None if calibration.is_identity else estimate(shape, workload, device, calibration)
        memory, prompt, decode = _compare(result, plain, calibrated)
        limit = device.bandwidth_for(options.threads) / plain.speed.decode_bytes_per_step
        report.runs.append(
            BenchRun(
                parallel,
                result,
                memory,
                prompt,
                decode,
                decode_limit_steps_per_s=limit,
                decode_share_of_limit=(1 / result.decode_step_s_median) / limit,
                samples=tuple(samples),
            )
        )
        if store:
            record = BenchRecord(
                target.name,
                target.sha256,
                shape,
                workload,
                options.threads,
                Measured(
                    result.load_s,
                    result.prompt_tokens_per_s,
                    result.decode_tokens_per_s,
                    result.decode_step_s_median,
                    result.working_set_bytes,
                    result.peak_rss_bytes,
                ),
            )
            save_record(
                settings,
                probe.fingerprint,
                record,
                {"worker": asdict(result)},
                timing="cpu" if options.cpu_time else "wall",
            )
    return report
