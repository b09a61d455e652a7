"""The probe of this machine: sane figures, GPU detection through nvidia-smi, and the cache."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from uptake.fit import probe as probe_module
from uptake.fit.probe import (
    GpuInfo,
    Probe,
    detect_gpu,
    measure_bandwidth,
    measure_compute,
    memory_figures,
    offload_profile,
    probe_this_machine,
    run_probe,
)
from uptake.settings import Settings


def fake_tool(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_meminfo_is_parsed(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:   12000000 kB\n")
    assert memory_figures(meminfo) == (16_000_000 * 1024, 12_000_000 * 1024)


def test_this_machines_memory_is_sane() -> None:
    total, available = memory_figures()
    assert 256 << 20 < total < 1 << 50
    assert 0 < available <= total


def test_bandwidth_and_compute_probes_give_plausible_figures() -> None:
    bandwidth = measure_bandwidth(seconds=0.2, threads=2, buffer_bytes=64 << 20)
    compute = measure_compute(seconds=0.1, size=256)
    # From a slow board to a large server: 0.5 GB/s .. 10 TB/s and 0.5 GFLOPS .. 1 PFLOPS.
    assert 5e8 < bandwidth < 1e13
    assert 5e8 < compute < 1e15


def test_run_probe_describes_a_cpu_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe_module, "detect_gpu", lambda: None)
    result = run_probe(seconds=0.1, buffer_bytes=32 << 20)
    profile = result.profile
    assert profile.name == "this" and profile.kind == "cpu"
    assert profile.bandwidth_basis == profile.compute_basis == "measured"
    assert profile.cores >= 1 and profile.measured_at
    assert profile.usable_bytes > 0
    assert len(result.fingerprint) == 16
    assert {source.name for source in profile.sources} >= {"/proc/meminfo", "numpy copy probe"}


def test_gpu_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_tool(tmp_path, "nvidia-smi", 'echo "NVIDIA GeForce RTX 4090, 24564"')
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_gpu() == GpuInfo("NVIDIA GeForce RTX 4090", 24564 << 20)


@pytest.mark.parametrize("script", ["exit 9", 'echo "No devices were found"', ""])
def test_no_gpu_when_nvidia_smi_fails_or_says_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str
) -> None:
    fake_tool(tmp_path, "nvidia-smi", script)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_gpu() is None


def test_no_gpu_without_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert detect_gpu() is None


def test_a_known_gpu_borrows_its_profile_when_llama_cpp_can_offload(monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp

    gpu = GpuInfo("NVIDIA GeForce RTX 4090", 24564 << 20)
    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", lambda: True)
    profile = offload_profile(gpu, "2025-01-01T00:00:00+00:00")
    assert profile is not None
    assert (profile.name, profile.kind, profile.memory_bytes) == ("this", "gpu", 24564 << 20)
    assert profile.bandwidth_bytes_per_s == pytest.approx(1008e9)
    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", lambda: False)
    assert offload_profile(gpu, "2025-01-01T00:00:00+00:00") is None


def test_the_probe_is_cached_and_measured_again_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[Probe] = []
    real_run = probe_module.run_probe

    def counting_run() -> Probe:
        runs.append(real_run(seconds=0.05, buffer_bytes=16 << 20))
        return runs[-1]

    monkeypatch.setattr(probe_module, "run_probe", counting_run)
    monkeypatch.setattr(probe_module, "detect_gpu", lambda: None)
    settings = Settings(home=tmp_path)
    first = probe_this_machine(settings)
    second = probe_this_machine(settings)
    assert len(runs) == 1
    assert second.profile.bandwidth_bytes_per_s == pytest.approx(first.profile.bandwidth_bytes_per_s)
    assert (tmp_path / "fit" / "this-device.json").is_file()
    assert not [p for p in (tmp_path / "fit").iterdir() if p.suffix == ".tmp"]
    probe_this_machine(settings, refresh=True)
    assert len(runs) == 2


def test_another_machine_invalidates_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[int] = []
    real_run = probe_module.run_probe
    monkeypatch.setattr(probe_module, "detect_gpu", lambda: None)
    monkeypatch.setattr(
        probe_module, "run_probe", lambda: runs.append(1) or real_run(seconds=0.05, buffer_bytes=16 << 20)
    )
    settings = Settings(home=tmp_path)
    probe_this_machine(settings)
    monkeypatch.setattr(probe_module, "cpu_model", lambda: "another CPU " + os.urandom(4).hex())
    probe_this_machine(settings)
    assert len(runs) == 2
