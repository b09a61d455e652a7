"""What the Models page shows: the store with trust and scan verdicts, the catalog with fit's prediction for
this machine, and each model's CycloneDX BOM from its last scan."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from uptake.models.catalog import load_catalog
from uptake.models.store import AdapterStore, Store
from uptake.reports.html import format_bytes
from uptake.settings import Settings


@dataclass(frozen=True)
class StoreRow:
    name: str
    family: str
    parameters: str
    size: str
    quantization: str
    sha256: str
    source: str
    trust: str
    verdict: str
    scanned_at: str
    findings: list[dict[str, Any]]
    chat_template: str | None
    adapter_of: str | None = None


def _parameters(value: object) -> str:
    if not isinstance(value, int | float) or value <= 0:
        return "–"
    if value >= 1e9:
        return f"{value / 1e9:.1f}B"
    return f"{value / 1e6:.0f}M" if value >= 1e6 else f"{value / 1e3:.0f}K"


def _scan_fields(report: dict[str, Any] | None) -> tuple[str, str, list[dict[str, Any]]]:
    if report is None:
        return "not scanned", "–", []
    findings = [finding for file in report.get("files", []) for finding in file.get("findings", [])]
    return str(report.get("verdict", "?")), str(report.get("scanned_at", "–")), findings


def store_rows(store: Store) -> list[StoreRow]:
    """Every model and adapter in the store, with its last scan; three queries whatever the store's size."""
    catalog = load_catalog()
    scans = store.last_scans()
    rows = []
    for model in store.list():
        meta = model.metadata
        entry = catalog.entries.get(model.name) or catalog.by_sha256(model.sha256)
        verdict, scanned_at, findings = _scan_fields(scans.get(model.sha256))
        rows.append(StoreRow(
            name=model.name,
            family=entry.family if entry is not None else str(meta.get("architecture") or "–"),
            parameters=_parameters(meta.get("parameters")),
            size=format_bytes(model.size),
            quantization=str(meta.get("quantization") or "–"),
            sha256=model.sha256,
            source=model.source,
            trust=model.trust,
            verdict=verdict,
            scanned_at=scanned_at,
            findings=findings,
            chat_template=model.chat_template,
        ))
    for adapter in AdapterStore(store).list():
        verdict, scanned_at, findings = _scan_fields(scans.get(adapter.sha256))
        rows.append(StoreRow(
            name=adapter.reference, family="LoRA adapter", parameters="–", size=format_bytes(adapter.size),
            quantization="–", sha256=adapter.sha256, source="uptake control", trust="made here",
            verdict=verdict, scanned_at=scanned_at, findings=findings, chat_template=None,
            adapter_of=adapter.base_name,
        ))
    return rows


@dataclass
class FitPredictions:
    """What `uptake fit --offline` predicts for this machine, computed once, off the request path (measuring the
    machine takes seconds; a page must not wait for it)."""

    settings: Settings
    result: dict[str, Any] | None = None
    error: str | None = None
    _started: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._compute, name="uptake-fit", daemon=True).start()

    def _compute(self) -> None:
        from uptake.fit.calibration import fit_calibration, load_records
        from uptake.fit.estimate import Workload
        from uptake.fit.probe import probe_this_machine
        from uptake.fit.recommend import Constraints, ShapeResolver, fit_catalog

        try:
            probe = probe_this_machine(self.settings, refresh=False)
            calibration = fit_calibration(load_records(self.settings, probe.fingerprint), probe.profile)
            resolver = ShapeResolver(self.settings, offline=True)
            try:
                workload = Workload(context=self.settings.context_size, parallel=1)
                self.result = fit_catalog(probe.profile, workload, Constraints(), resolver, calibration).to_dict()
            finally:
                resolver.close()
        except Exception as error:  # shown on the page; the console stays up without predictions
            self.error = f"{type(error).__name__}: {error}"

    def by_model(self) -> dict[str, dict[str, Any]]:
        if self.result is None:
            return {}
        return {str(model["name"]): model for model in self.result.get("models", [])}


def catalog_rows(fit: FitPredictions, stored: set[str]) -> list[dict[str, Any]]:
    predictions = fit.by_model()
    rows = []
    for entry in load_catalog().entries.values():
        prediction = predictions.get(entry.name)
        speed = (prediction or {}).get("speed") or {}
        memory = (prediction or {}).get("memory") or {}
        rows.append({
            "name": entry.name,
            "family": entry.family,
            "parameters": _parameters(entry.parameters),
            "quantization": entry.quantization,
            "size": format_bytes(entry.size_bytes) if entry.size_bytes else "–",
            "license": entry.license,
            "publisher": f"{entry.publisher} ({entry.publisher_country})",
            "verified": entry.verified,
            "in_store": entry.name in stored,
            "fits": None if prediction is None else bool(prediction.get("fits")),
            "reasons": "; ".join((prediction or {}).get("rejected_because") or []),
            "memory": format_bytes(memory["total"]) if "total" in memory else "–",
            "decode": f"{speed['decode_tokens_per_s']:.1f}" if "decode_tokens_per_s" in speed else "–",
            "prompt": f"{speed['prompt_tokens_per_s']:.0f}" if "prompt_tokens_per_s" in speed else "–",
            "recommended": bool((prediction or {}).get("recommended")),
        })
    return rows


def bom_for(store: Store, name: str) -> str | None:
    """The CycloneDX ML-BOM of a stored model's (or adapter's) last scan, or None when it was never scanned."""
    from uptake.scan.bom import bom_json
    from uptake.scan.report import ScanReport

    model = store.get(name)
    sha256 = model.sha256 if model is not None else None
    if sha256 is None:
        adapter = next((a for a in AdapterStore(store).list() if a.reference == name or a.name == name), None)
        sha256 = adapter.sha256 if adapter is not None else None
    if sha256 is None:
        return None
    report = store.last_scans().get(sha256)
    return None if report is None else bom_json(ScanReport.from_dict(report))
