"""Device profiles: what a machine offers a model (memory, bandwidth, compute), with the sources of each figure.

Profiles ship as TOML files in `uptake/fit/devices/`; `this` is measured by `uptake.fit.probe`.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from uptake.errors import UsageError

GB = 1e9
# kind: where the weights live. cpu: system RAM, read by the CPU. gpu: the card's own memory.
# unified: one memory shared by CPU and GPU (Jetson, Apple silicon), computed on the GPU.
DeviceKind = Literal["cpu", "gpu", "unified"]
# basis: a figure from a spec sheet (theoretical peak) or measured on the machine itself.
Basis = Literal["theoretical", "measured"]
KINDS: tuple[str, ...] = ("cpu", "gpu", "unified")
BASES: tuple[str, ...] = ("theoretical", "measured")


@dataclass(frozen=True)
class SourceNote:
    name: str
    figure: str


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    kind: DeviceKind
    memory_bytes: int
    reserved_bytes: int
    bandwidth_bytes_per_s: float
    bandwidth_basis: Basis
    compute_flops: float
    compute_basis: Basis
    cores: int
    accelerator: str | None = None
    sources: tuple[SourceNote, ...] = ()
    measured_at: str | None = None
    # For GPU profiles: a part of the name nvidia-smi reports, so `this` can borrow the figures.
    match_gpu: str | None = None
    # What one thread alone can stream (measured by the probe); None where only the total is known.
    single_thread_bandwidth_bytes_per_s: float | None = None

    def bandwidth_for(self, threads: int | None) -> float:
        """Bandwidth `threads` CPU threads reach: each adds what one thread streams, up to the total."""
        if threads is None or threads >= self.cores or self.kind != "cpu":
            return self.bandwidth_bytes_per_s
        single = self.single_thread_bandwidth_bytes_per_s or self.bandwidth_bytes_per_s / self.cores
        return min(self.bandwidth_bytes_per_s, threads * single)

    def compute_for(self, threads: int | None) -> float:
        """Compute of `threads` CPU threads: a share of the cores' total."""
        if threads is None or threads >= self.cores or self.kind != "cpu":
            return self.compute_flops
        return self.compute_flops * threads / self.cores

    @property
    def usable_bytes(self) -> int:
        """Memory a model may take: the total less what the OS and other programs keep."""
        return max(0, self.memory_bytes - self.reserved_bytes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _positive(raw: dict[str, Any], key: str, where: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UsageError(f"{where}: '{key}' must be a positive number; fix the profile file.")
    return float(value)


def _choice(raw: dict[str, Any], key: str, allowed: tuple[str, ...], where: str) -> Any:
    value = raw.get(key)
    if value not in allowed:
        raise UsageError(f"{where}: '{key}' must be one of {', '.join(allowed)}; fix the profile file.")
    return value


def profile_from_dict(raw: dict[str, Any], where: str) -> DeviceProfile:
    """Validate a profile table (from TOML or the probe cache). Raises UsageError naming the bad field."""
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError(f"{where}: a profile needs a 'name'; fix the profile file.")
    sources = tuple(SourceNote(str(s.get("name", "")), str(s.get("figure", ""))) for s in raw.get("sources", []))
    accelerator = raw.get("accelerator")
    measured_at = raw.get("measured_at")
    match_gpu = raw.get("match_gpu")
    single = raw.get("single_thread_bandwidth_gb_s")
    return DeviceProfile(
        name=name,
        description=str(raw.get("description", name)),
        kind=_choice(raw, "kind", KINDS, where),
        memory_bytes=int(_positive(raw, "memory_gb", where) * GB),
        reserved_bytes=int(float(raw.get("reserved_gb", 0.0)) * GB),
        bandwidth_bytes_per_s=_positive(raw, "bandwidth_gb_s", where) * GB,
        bandwidth_basis=_choice(raw, "bandwidth_basis", BASES, where),
        compute_flops=_positive(raw, "compute_tflops", where) * 1e12,
        compute_basis=_choice(raw, "compute_basis", BASES, where),
        cores=int(_positive(raw, "cores", where)),
        accelerator=accelerator if isinstance(accelerator, str) and accelerator else None,
        sources=sources,
        measured_at=measured_at if isinstance(measured_at, str) else None,
        match_gpu=match_gpu if isinstance(match_gpu, str) and match_gpu else None,
        single_thread_bandwidth_bytes_per_s=_positive(raw, "single_thread_bandwidth_gb_s", where) * GB
        if single is not None
        else None,
    )


def profile_to_table(profile: DeviceProfile) -> dict[str, Any]:
    """The inverse of profile_from_dict, in the units the profile files use."""
    table: dict[str, Any] = {
        "name": profile.name,
        "description": profile.description,
        "kind": profile.kind,
        "memory_gb": profile.memory_bytes / GB,
        "reserved_gb": profile.reserved_bytes / GB,
        "bandwidth_gb_s": profile.bandwidth_bytes_per_s / GB,
        "bandwidth_basis": profile.bandwidth_basis,
        "compute_tflops": profile.compute_flops / 1e12,
        "compute_basis": profile.compute_basis,
        "cores": profile.cores,
        "sources": [asdict(source) for source in profile.sources],
    }
    if profile.accelerator:
        table["accelerator"] = profile.accelerator
    if profile.measured_at:
        table["measured_at"] = profile.measured_at
    if profile.match_gpu:
        table["match_gpu"] = profile.match_gpu
    if profile.single_thread_bandwidth_bytes_per_s:
        table["single_thread_bandwidth_gb_s"] = profile.single_thread_bandwidth_bytes_per_s / GB
    return table


def _shipped() -> dict[str, Any]:
    return {
        entry.name.removesuffix(".toml"): entry
        for entry in resources.files("uptake.fit").joinpath("devices").iterdir()
        if entry.name.endswith(".toml")
    }


def profile_names() -> list[str]:
    return sorted(_shipped())


def load_profile_file(path: Path) -> DeviceProfile:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"cannot read device profile {path}: {error}") from error
    return profile_from_dict(raw, str(path))


def load_profile(name: str) -> DeviceProfile:
    """A shipped profile by name, or a profile file by path. `this` is handled by the probe, not here."""
    shipped = _shipped()
    if name in shipped:
        raw = tomllib.loads(shipped[name].read_text("utf-8"))
        return profile_from_dict(raw, f"device profile {name}")
    path = Path(name)
    if path.suffix == ".toml" and path.is_file():
        return load_profile_file(path)
    raise UsageError(
        f"unknown device profile '{name}'; use 'this' to measure this machine, a .toml file, "
        f"or one of: {', '.join(profile_names())}."
    )


def load_all_profiles() -> list[DeviceProfile]:
    return [load_profile(name) for name in profile_names()]
