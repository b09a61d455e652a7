"""Bench results in the database, and the calibration fit learns from them for this machine.

Each bench run is stored with the model's shape and the workload, so the calibration can be fitted
again at any time against the current device figures:
- memory: the median ratio of measured working set to prediction;
- prompt: the geometric mean of measured / predicted speed scales the prompt efficiency;
- decode: step time = max(a × streaming, b × kernels) + c × layers, fitted on relative errors by a
  grid over a and b (c has a closed form for each), when at least four models were measured at two
  or more parallel levels (which is what tells streaming from kernels); otherwise one scale on the
  whole step.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from uptake.db import connect, utc_now
from uptake.fit.estimate import (
    Calibration,
    Workload,
    decode_terms,
    estimate_memory,
    estimate_speed,
    factors_for,
)
from uptake.fit.profiles import DeviceProfile
from uptake.fit.shape import ModelShape
from uptake.settings import Settings


@dataclass(frozen=True)
class Measured:
    load_s: float
    prompt_tokens_per_s: float
    decode_tokens_per_s: float  # all sequences together
    decode_step_s: float
    working_set_bytes: int
    peak_rss_bytes: int


@dataclass(frozen=True)
class BenchRecord:
    model_name: str
    model_sha256: str
    shape: ModelShape
    workload: Workload
    threads: int
    measured: Measured
    created_at: str = ""

    def settings_json(self, timing: str = "wall") -> str:
        return json.dumps({"workload": asdict(self.workload), "threads": self.threads, "timing": timing})

    def results_json(self, extra: dict[str, Any]) -> str:
        return json.dumps({"shape": self.shape.to_dict(), "measured": asdict(self.measured), **extra})


def save_record(
    settings: Settings, machine: str, record: BenchRecord, extra: dict[str, Any], timing: str = "wall"
) -> None:
    with connect(settings.home / "uptake.db") as db:
        db.execute(
            "INSERT INTO bench_results (model_name, model_sha256, machine, settings, results, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.model_name,
                record.model_sha256,
                machine,
                record.settings_json(timing),
                record.results_json(extra),
                utc_now(),
            ),
        )


def load_records(settings: Settings, machine: str) -> list[BenchRecord]:
    """Bench records of this machine, newest last. Rows that no longer parse are skipped."""
    with connect(settings.home / "uptake.db") as db:
        rows = db.execute("SELECT * FROM bench_results WHERE machine = ? ORDER BY id", (machine,)).fetchall()
    records = []
    for row in rows:
        try:
            config = json.loads(row["settings"])
            results = json.loads(row["results"])
            records.append(
                BenchRecord(
                    model_name=row["model_name"] or "",
                    model_sha256=row["model_sha256"],
                    shape=ModelShape(**results["shape"]),
                    workload=Workload(**config["workload"]),
                    threads=int(config["threads"]),
                    measured=Measured(**results["measured"]),
                    created_at=row["created_at"],
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return records


def latest_per_setup(records: list[BenchRecord]) -> list[BenchRecord]:
    """One record per (model, workload): the newest, so re-running bench replaces old figures."""
    latest: dict[tuple[str, str], BenchRecord] = {}
    for record in records:
        latest[(record.model_sha256, json.dumps(asdict(record.workload)))] = record
    return list(latest.values())


# Three free coefficients fitted on fewer models follow their noise (leaving one model out of four
# bench runs, the full fit missed it by up to 31 %, a single scale by 8 %).
MODELS_FOR_FULL_FIT = 4


GRID = np.logspace(-2, 2, 81)


def _overhead_for(core: np.ndarray, layers: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """The per-layer cost (≥ 0) minimising relative squared error, for each row of `core`."""
    weights = layers / measured
    best = ((1 - core / measured) * weights).sum(axis=-1) / (weights**2).sum()
    clipped: np.ndarray = np.clip(best, 0.0, None)
    return clipped


def _decode_coefficients(records: list[BenchRecord], device: DeviceProfile) -> tuple[float, float, float]:
    """(bandwidth scale, kernel scale, overhead per layer) that make the decode model fit the records."""
    factors = factors_for(device)
    streaming, kernels, layers, measured = [], [], [], []
    for record in records:
        terms = decode_terms(record.shape, record.workload, device)
        streaming.append(terms.streaming_s / factors.bandwidth_efficiency)
        kernels.append(terms.kernel_s / factors.decode_bytes_per_flop + terms.attention_s / factors.prompt_efficiency)
        layers.append(terms.layers)
        measured.append(record.measured.decode_step_s)
    s, k, n, m = (np.array(values, dtype=float) for values in (streaming, kernels, layers, measured))
    models = len({r.model_sha256 for r in records})
    if models < MODELS_FOR_FULL_FIT or len({r.workload.parallel for r in records}) < 2:
        predicted = np.maximum(s, k) + factors.step_overhead_per_layer_s * n
        scale = float(np.exp(np.mean(np.log(m / predicted))))
        return 1 / scale, 1 / scale, factors.step_overhead_per_layer_s * scale
    # Every (a, b) of a grid at once, shape (grid, grid, records); then finer grids around the best.
    a_grid = b_grid = GRID
    for _ in range(4):
        core = np.maximum(a_grid[:, None, None] * s, b_grid[None, :, None] * k)
        overhead = _overhead_for(core, n, m)
        error = (((core + overhead[..., None] * n) - m) / m) ** 2
        i, j = np.unravel_index(np.argmin(error.sum(axis=-1)), overhead.shape)
        a, b, c = float(a_grid[i]), float(b_grid[j]), float(overhead[i, j])
        a_grid, b_grid = a * np.logspace(-0.1, 0.1, 41), b * np.logspace(-0.1, 0.1, 41)
    return 1 / a, 1 / b, c


def fit_calibration(records: list[BenchRecord], device: DeviceProfile) -> Calibration:
    """A calibration for `device` (this machine) from its bench records; identity when there are none."""
    records = latest_per_setup(records)
    if not records:
        return Calibration()
    factors = factors_for(device)
    memory_ratios, prompt_ratios = [], []
    for record in records:
        memory = estimate_memory(record.shape, record.workload, device)
        speed = estimate_speed(record.shape, record.workload, device, factors)
        memory_ratios.append(record.measured.working_set_bytes / memory.total)
        prompt_ratios.append(record.measured.prompt_tokens_per_s / speed.prompt_tokens_per_s)
    bandwidth_scale, kernel_scale, overhead = _decode_coefficients(records, device)
    return Calibration(
        bandwidth_scale=bandwidth_scale,
        prompt_scale=math.exp(statistics.fmean(math.log(r) for r in prompt_ratios)),
        decode_kernel_scale=kernel_scale,
        step_overhead_per_layer_s=overhead,
        memory_scale=statistics.median(memory_ratios),
        samples=len(records),
    )
