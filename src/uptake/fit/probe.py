"""Measure this machine as a device profile (`--device this`), and keep the result under UPTAKE_HOME.

Memory from /proc/meminfo; bandwidth from a multi-threaded numpy copy of a buffer far larger than the
caches (STREAM's convention: bytes read + bytes written); compute from a float32 matrix product; the
GPU, if any, from nvidia-smi. The figures are cached with a timestamp and a fingerprint of the
machine, and measured again when the fingerprint changes or on request.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from uptake.atomic import write_json_atomically
from uptake.fit.profiles import (
    GB,
    DeviceProfile,
    SourceNote,
    load_all_profiles,
    profile_from_dict,
    profile_to_table,
)
from uptake.settings import Settings, physical_cores

CACHE_FILE = Path("fit") / "this-device.json"
# Large enough to defeat the last-level cache of any current CPU (up to a few hundred MB on servers).
BANDWIDTH_BUFFER_BYTES = 512 << 20
MATMUL_SIZE = 1024


@dataclass(frozen=True)
class GpuInfo:
    name: str
    memory_bytes: int


def memory_figures(meminfo: Path = Path("/proc/meminfo")) -> tuple[int, int]:
    """(total, available) bytes. Falls back to sysconf where /proc/meminfo is missing."""
    values: dict[str, int] = {}
    try:
        for line in meminfo.read_text("ascii").splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                values[key] = int(parts[0]) * 1024
    except OSError:
        pass
    if "MemTotal" in values:
        return values["MemTotal"], values.get("MemAvailable", values["MemTotal"])
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return total, total


def _best_rate(
    work: Callable[[], object],
    units_per_round: float,
    seconds: float,
    clock: Callable[[], float] = time.perf_counter,
    per_clock_second: float = 1.0,
) -> float:
    """Units per second of the fastest round within `seconds` of wall time.

    Other programs on a shared machine only ever slow a round down, so the fastest round is the
    closest to what the hardware can do. With a CPU-time `clock`, rounds are timed by the CPU the
    work got rather than the wall clock, which other programs cannot inflate; `per_clock_second`
    then turns CPU seconds into wall seconds of the threads working at once.
    """
    work()  # first touch: page faults and BLAS warm-up are not what we measure
    best, deadline = 0.0, time.perf_counter() + seconds
    while True:
        started = clock()
        work()
        elapsed = max(clock() - started, 1e-9)
        best = max(best, units_per_round * per_clock_second / elapsed)
        if time.perf_counter() >= deadline:
            return best


def measure_bandwidth(
    seconds: float = 1.0, threads: int | None = None, buffer_bytes: int = BANDWIDTH_BUFFER_BYTES
) -> float:
    """Bytes per second moved by copying a large buffer on `threads` threads (numpy drops the GIL).

    One thread is timed by its own CPU time; several by the wall clock (bandwidth is shared, so the
    threads' CPU time would not say what they move together).
    """
    threads = threads or physical_cores()
    source = np.ones(buffer_bytes // 8, dtype=np.float64)
    target = np.empty_like(source)
    if threads == 1:
        return _best_rate(lambda: np.copyto(target, source), 2 * source.nbytes, seconds, time.thread_time)
    bounds = np.linspace(0, source.size, threads + 1, dtype=np.int64)
    slices = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]

    def copy(part: slice) -> None:
        np.copyto(target[part], source[part])

    with ThreadPoolExecutor(threads) as pool:
        return _best_rate(lambda: list(pool.map(copy, slices)), 2 * source.nbytes, seconds)


def measure_compute(seconds: float = 0.5, size: int = MATMUL_SIZE, cores: int | None = None) -> float:
    """Float32 FLOP/s of all cores: one core's rate at a square matrix product, times the cores.

    The product runs on one BLAS thread, timed by that thread's CPU time, which other programs on the
    machine cannot inflate (a multi-threaded product would count its threads' spinning as work).
    Without threadpoolctl, numpy's BLAS keeps its own threads and the process's CPU time is used.
    """
    cores = cores or physical_cores()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:
        return _best_rate(lambda: np.matmul(a, b), 2 * size**3, seconds, time.process_time, cores)
    with threadpool_limits(limits=1, user_api="blas"):
        return _best_rate(lambda: np.matmul(a, b), 2 * size**3, seconds, time.thread_time, cores)


def detect_gpu() -> GpuInfo | None:
    """The first NVIDIA GPU, through nvidia-smi; None when there is none (or no driver)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        output = subprocess.run(
            [smi, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    first = output.strip().splitlines()[0] if output.strip() else ""
    name, _, memory = first.rpartition(",")
    if not name or not memory.strip().isdigit():
        return None
    return GpuInfo(name=name.strip(), memory_bytes=int(memory.strip()) * (1 << 20))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text("utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fingerprint(total_memory: int, cores: int, gpu: GpuInfo | None) -> str:
    """Identifies the machine: host, CPU, core count, memory size and GPU. Bench results are keyed on it."""
    parts = [platform.node(), cpu_model(), str(cores), str(total_memory // (1 << 28)), gpu.name if gpu else ""]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Probe:
    profile: DeviceProfile
    fingerprint: str
    gpu: GpuInfo | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": profile_to_table(self.profile),
            "fingerprint": self.fingerprint,
            "gpu": asdict(self.gpu) if self.gpu else None,
        }


def run_probe(seconds: float = 1.0, buffer_bytes: int = BANDWIDTH_BUFFER_BYTES) -> Probe:
    """Measure now (about `seconds` of copying plus half as long of matrix products)."""
    total, available = memory_figures()
    cores = physical_cores()
    gpu = detect_gpu()
    buffer_bytes = min(buffer_bytes, total // 16)
    single = measure_bandwidth(seconds / 2, threads=1, buffer_bytes=buffer_bytes)
    # All cores move at least what one does; less means other programs held the cores meanwhile.
    bandwidth = max(single, measure_bandwidth(seconds, threads=cores, buffer_bytes=buffer_bytes))
    compute = measure_compute(seconds / 2, cores=cores)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    profile = DeviceProfile(
        name="this",
        description=f"this machine: {cpu_model()}, {cores} cores, {total / GB:.1f} GB",
        kind="cpu",
        memory_bytes=total,
        reserved_bytes=total - available,
        bandwidth_bytes_per_s=bandwidth,
        bandwidth_basis="measured",
        compute_flops=compute,
        compute_basis="measured",
        cores=cores,
        accelerator=gpu.name if gpu else None,
        sources=(
            SourceNote("/proc/meminfo", f"MemTotal {total / GB:.2f} GB, MemAvailable {available / GB:.2f} GB"),
            SourceNote(
                "numpy copy probe",
                f"{bandwidth / GB:.1f} GB/s on {cores} threads, {single / GB:.1f} GB/s on one (read + write)",
            ),
            SourceNote("numpy float32 matmul probe", f"{compute / 1e9:.0f} GFLOPS ({cores} × one core's rate)"),
        ),
        measured_at=now,
        single_thread_bandwidth_bytes_per_s=single,
    )
    gpu_profile = offload_profile(gpu, now) if gpu else None
    return Probe(gpu_profile or profile, fingerprint(total, cores, gpu), gpu)


def offload_profile(gpu: GpuInfo, measured_at: str) -> DeviceProfile | None:
    """The shipped profile of this GPU, when llama.cpp here can offload to it; None otherwise."""
    try:
        from llama_cpp import llama_supports_gpu_offload
    except ImportError:
        return None
    if not llama_supports_gpu_offload():
        return None
    for profile in load_all_profiles():
        if profile.match_gpu and profile.match_gpu.lower() in gpu.name.lower():
            return replace(
                profile,
                name="this",
                memory_bytes=gpu.memory_bytes,
                measured_at=measured_at,
                description=f"this machine's {gpu.name}, figures from the {profile.name} profile",
            )
    return None


def _read_cache(path: Path) -> Probe | None:
    try:
        raw = json.loads(path.read_text("utf-8"))
        gpu = GpuInfo(**raw["gpu"]) if raw.get("gpu") else None
        return Probe(profile_from_dict(raw["profile"], str(path)), str(raw["fingerprint"]), gpu)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(path: Path, probe: Probe) -> None:
    write_json_atomically(path, probe.to_dict())


def probe_this_machine(settings: Settings, *, refresh: bool = False) -> Probe:
    """The cached probe of this machine, measured afresh when asked, missing, or from another machine.

    Available memory changes from minute to minute, so it is read anew every time; bandwidth and
    compute are kept from the cached measurement.
    """
    path = settings.home / CACHE_FILE
    total, available = memory_figures()
    cached = None if refresh else _read_cache(path)
    if cached is not None and cached.fingerprint == fingerprint(total, physical_cores(), detect_gpu()):
        if cached.profile.kind != "cpu":
            return cached
        return replace(cached, profile=replace(cached.profile, memory_bytes=total, reserved_bytes=total - available))
    probe = run_probe()
    _write_cache(path, probe)
    return probe
