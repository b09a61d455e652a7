"""Device profiles: the shipped files load, carry their sources, and bad files are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from uptake.errors import UsageError
from uptake.fit.profiles import (
    GB,
    load_all_profiles,
    load_profile,
    profile_from_dict,
    profile_names,
    profile_to_table,
)

VALID = {
    "name": "bench-board",
    "description": "a board",
    "kind": "cpu",
    "memory_gb": 4,
    "reserved_gb": 0.5,
    "bandwidth_gb_s": 10,
    "bandwidth_basis": "theoretical",
    "compute_tflops": 0.1,
    "compute_basis": "theoretical",
    "cores": 4,
    "sources": [{"name": "data sheet", "figure": "10 GB/s"}],
}


def test_every_shipped_profile_loads_with_sources() -> None:
    profiles = load_all_profiles()
    assert len(profiles) >= 6
    for profile in profiles:
        assert profile.sources, f"{profile.name} names no source"
        assert all(source.name and source.figure for source in profile.sources)
        assert 0 <= profile.reserved_bytes < profile.memory_bytes
        assert profile.usable_bytes == profile.memory_bytes - profile.reserved_bytes


def test_the_range_of_devices_is_covered() -> None:
    kinds = {profile.kind for profile in load_all_profiles()}
    assert kinds == {"cpu", "gpu", "unified"}
    assert {"raspberry-pi-5-8gb", "rtx-4090-24gb", "a100-80gb", "h100-80gb"} <= set(profile_names())


@pytest.mark.parametrize(
    ("name", "memory_gb", "bandwidth_gb_s"),
    [("raspberry-pi-5-8gb", 8, 17.07), ("rtx-4090-24gb", 24, 1008), ("a100-80gb", 80, 2039), ("h100-80gb", 80, 3350)],
)
def test_published_figures(name: str, memory_gb: float, bandwidth_gb_s: float) -> None:
    profile = load_profile(name)
    assert profile.memory_bytes == memory_gb * GB
    assert profile.bandwidth_bytes_per_s == pytest.approx(bandwidth_gb_s * GB)


def test_pi5_bandwidth_is_its_bus_arithmetic() -> None:
    # LPDDR4X-4267 on a 32-bit bus: 4267e6 transfers/s × 4 bytes.
    assert load_profile("raspberry-pi-5-8gb").bandwidth_bytes_per_s == pytest.approx(4267e6 * 4, rel=1e-3)


def test_a_profile_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "board.toml"
    path.write_text(
        'name = "board"\nkind = "unified"\nmemory_gb = 16\nbandwidth_gb_s = 100\nbandwidth_basis = "theoretical"\n'
        'compute_tflops = 3.5\ncompute_basis = "theoretical"\ncores = 8\n'
    )
    profile = load_profile(str(path))
    assert (profile.name, profile.kind, profile.cores) == ("board", "unified", 8)
    assert profile.compute_flops == pytest.approx(3.5e12)


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match="raspberry-pi-5-8gb"):
        load_profile("no-such-board")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"kind": "fpga"}, "kind"),
        ({"memory_gb": -1}, "memory_gb"),
        ({"bandwidth_gb_s": "fast"}, "bandwidth_gb_s"),
        ({"name": ""}, "name"),
        ({"compute_basis": "guessed"}, "compute_basis"),
    ],
)
def test_bad_fields_are_named(change: dict[str, object], complaint: str) -> None:
    with pytest.raises(UsageError, match=complaint):
        profile_from_dict({**VALID, **change}, "test")


def test_table_round_trip() -> None:
    profile = profile_from_dict(VALID, "test")
    assert profile_from_dict(profile_to_table(profile), "again") == profile


def test_fewer_threads_reach_less_bandwidth_and_compute() -> None:
    profile = profile_from_dict({**VALID, "single_thread_bandwidth_gb_s": 4}, "test")
    assert profile.bandwidth_for(None) == profile.bandwidth_for(4) == 10 * GB
    assert profile.bandwidth_for(1) == 4 * GB
    assert profile.bandwidth_for(3) == 10 * GB  # three threads would stream 12 GB/s; the memory gives 10
    assert profile.compute_for(1) == pytest.approx(0.25 * 0.1e12)
    without_single = profile_from_dict(VALID, "test")
    assert without_single.bandwidth_for(2) == 5 * GB  # unknown per thread: a share of the total
    gpu = profile_from_dict({**VALID, "kind": "gpu"}, "test")
    assert gpu.bandwidth_for(1) == 10 * GB and gpu.compute_for(1) == 0.1e12
