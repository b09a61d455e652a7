"""`uptake fit`: every catalog variant against a device, with a verdict, a reason, and one recommendation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from uptake.errors import DownloadError, UptakeError, UsageError
from uptake.fit.estimate import Calibration, Estimate, Workload, estimate
from uptake.fit.profiles import GB, DeviceProfile
from uptake.fit.remote import cached_remote_shape, remote_shape
from uptake.fit.shape import ModelShape, shape_from_catalog, shape_from_header
from uptake.models.catalog import CatalogEntry, load_catalog
from uptake.models.gguf_header import GGUFFormatError, read_gguf_header
from uptake.settings import Settings

HUB_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@dataclass(frozen=True)
class Constraints:
    min_tokens_per_second: float | None = None
    max_memory_bytes: int | None = None
    family: str | None = None


@dataclass(frozen=True)
class Candidate:
    entry: CatalogEntry
    shape: ModelShape
    estimate: Estimate
    reasons: tuple[str, ...]

    @property
    def fits(self) -> bool:
        return not self.reasons

    def to_dict(self, recommended: bool) -> dict[str, Any]:
        return {
            "name": self.entry.name,
            "family": self.entry.family,
            "parameters": self.entry.parameters,
            "quantization": self.entry.quantization,
            "figures_from": self.shape.basis,
            "fits": self.fits,
            "recommended": recommended,
            "rejected_because": list(self.reasons),
            **self.estimate.to_dict(),
        }


@dataclass
class FitResult:
    device: DeviceProfile
    workload: Workload
    calibration: Calibration
    candidates: list[Candidate] = field(default_factory=list)
    recommended: Candidate | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device.to_dict(),
            "workload": {
                "context": self.workload.context,
                "parallel": self.workload.parallel,
                "decode_speed_at_cached_tokens": self.workload.decode_position,
            },
            "calibrated": not self.calibration.is_identity,
            "calibration_samples": self.calibration.samples,
            "recommended": self.recommended.entry.name if self.recommended else None,
            "notes": self.notes,
            "models": [c.to_dict(c is self.recommended) for c in self.candidates],
        }


class ShapeResolver:
    """Finds the best figures for a catalog model: its file in the store, else its header read from the
    hub, else the catalog's recorded fields. After one failed hub request the hub is not asked again."""

    def __init__(self, settings: Settings, *, offline: bool = False) -> None:
        self.settings = settings
        self.offline = offline
        self.hub_down = False
        self.notes: list[str] = []
        self._client: httpx.Client | None = None

    def _stored(self, entry: CatalogEntry) -> ModelShape | None:
        try:
            from uptake.models.store import Store

            stored = Store(self.settings).get(entry.name)
        except (ImportError, UptakeError):
            return None
        if stored is None or not stored.path.is_file():
            return None
        try:
            return shape_from_header(read_gguf_header(stored.path), name=entry.name, basis="file")
        except GGUFFormatError:
            return None

    def _remote(self, entry: CatalogEntry) -> ModelShape | None:
        cached = cached_remote_shape(self.settings, entry.name)
        if cached is not None or self.offline or self.hub_down:
            return cached
        if self._client is None:
            self._client = httpx.Client(timeout=HUB_TIMEOUT, follow_redirects=True)
        try:
            return remote_shape(entry, self.settings, self._client)
        except DownloadError as error:
            self.hub_down = True
            first = str(error).split("; ")[0]
            self.notes.append(f"model hub not reachable ({first}); figures from the catalog instead.")
            return None

    def shape(self, entry: CatalogEntry) -> ModelShape:
        return self._stored(entry) or self._remote(entry) or shape_from_catalog(entry)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _rejections(
    entry: CatalogEntry, result: Estimate, device: DeviceProfile, workload: Workload, constraints: Constraints
) -> tuple[str, ...]:
    reasons = []
    need = result.memory.total
    if need > device.usable_bytes:
        reasons.append(
            f"needs {need / GB:.2f} GB; {device.name} has {device.usable_bytes / GB:.2f} GB free "
            f"({device.memory_bytes / GB:.1f} GB less {device.reserved_bytes / GB:.1f} GB kept by the system)"
        )
    if constraints.max_memory_bytes is not None and need > constraints.max_memory_bytes:
        reasons.append(f"needs {need / GB:.2f} GB, above --max-memory {constraints.max_memory_bytes / GB:.2f} GB")
    if workload.context > entry.context_length:
        reasons.append(f"--ctx {workload.context} is beyond the {entry.context_length} tokens it was trained for")
    speed = result.speed.decode_tokens_per_s
    if constraints.min_tokens_per_second is not None and speed < constraints.min_tokens_per_second:
        reasons.append(
            f"decodes about {speed:.1f} tokens/s, below --min-tokens-per-second {constraints.min_tokens_per_second:g}"
        )
    return tuple(reasons)


def _quality(candidate: Candidate) -> tuple[float, float, float]:
    """Bigger models first; among equals, more bits per weight; then faster."""
    bits = 8 * candidate.shape.weight_bytes / max(1, candidate.shape.parameters)
    return (candidate.entry.parameters, bits, candidate.estimate.speed.decode_tokens_per_s)


def fit_catalog(
    device: DeviceProfile,
    workload: Workload,
    constraints: Constraints,
    resolver: ShapeResolver,
    calibration: Calibration | None = None,
) -> FitResult:
    calibration = calibration or Calibration()
    entries = list(load_catalog().entries.values())
    if constraints.family:
        wanted = constraints.family.lower()
        entries = [e for e in entries if wanted in (e.family.lower(), e.name.split(":", 1)[0].lower())]
        if not entries:
            families = sorted({e.family for e in load_catalog().entries.values()})
            raise UsageError(f"no catalog family '{constraints.family}'; known: {', '.join(families)}.")
    result = FitResult(device, workload, calibration)
    for entry in entries:
        shape = resolver.shape(entry)
        prediction = estimate(shape, workload, device, calibration)
        reasons = _rejections(entry, prediction, device, workload, constraints)
        result.candidates.append(Candidate(entry, shape, prediction, reasons))
    result.candidates.sort(key=lambda c: (c.entry.parameters, c.entry.name))
    fitting = [c for c in result.candidates if c.fits]
    result.recommended = max(fitting, key=_quality) if fitting else None
    result.notes.extend(resolver.notes)
    return result
