"""GGUF LoRA adapters: an adapter is a model file too, and what it can be applied to is part of its scan.

An adapter changes a base model's behaviour without changing the base file, so the scan reports what it
edits and which base it was made for (uptake's lineage records the base's sha256). An adapter that names no
base cannot be checked before it is applied; uptake refuses to apply it, and the scan says so. Tensors that
are not LoRA pairs would be rejected by llama.cpp; they are reported here, before anything loads.
"""

from __future__ import annotations

import json
from typing import Any

from uptake.models.gguf_header import GGUFHeader
from uptake.scan.report import Finding, Location, Severity

LINEAGE_KEY = "uptake.lineage"  # the key control.lora writes (the scanner does not import control)


def is_adapter_header(header: GGUFHeader) -> bool:
    return bool(header.get("general.type") == "adapter")


def _lineage(header: GGUFHeader) -> dict[str, Any] | None:
    raw = header.get(LINEAGE_KEY)
    if not isinstance(raw, str):
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def adapter_findings(header: GGUFHeader) -> list[Finding]:
    if not is_adapter_header(header):
        return []
    findings: list[Finding] = []
    kind = header.get("adapter.type")
    if kind != "lora":
        findings.append(Finding("ADPT003", Severity.WARNING, f"adapter of type {kind!r}; uptake applies only 'lora'",
                                Location(key="adapter.type")))
    bases: dict[str, set[str]] = {}
    for tensor in header.tensors:
        base, _, part = tensor.name.rpartition(".")
        if part not in ("lora_a", "lora_b"):
            findings.append(Finding("ADPT004", Severity.WARNING,
                                    f"tensor {tensor.name} is not a LoRA part; llama.cpp will refuse this adapter",
                                    Location(tensor=tensor.name, offset=tensor.info_offset)))
            continue
        bases.setdefault(base, set()).add(part)
    unpaired = sorted(base for base, parts in bases.items() if len(parts) != 2)
    if unpaired:
        findings.append(Finding("ADPT004", Severity.WARNING,
                                f"{len(unpaired)} weight(s) have only one LoRA part, e.g. {unpaired[0]}",
                                Location(tensor=unpaired[0])))
    lineage = _lineage(header)
    made_for = lineage.get("base") if lineage else None
    base_sha256 = made_for.get("sha256") if isinstance(made_for, dict) else None
    architecture = header.get("general.architecture")
    if not isinstance(base_sha256, str) or len(base_sha256) != 64:
        findings.append(Finding(
            "ADPT002", Severity.WARNING,
            f"LoRA adapter for a {architecture} model that records no base sha256 ({LINEAGE_KEY}); its base "
            "cannot be checked, so uptake will not apply it",
            Location(key=LINEAGE_KEY),
        ))
    else:
        from uptake.models.catalog import load_catalog

        entry = load_catalog().by_sha256(base_sha256)
        known = f" (catalog model {entry.name})" if entry is not None else ""
        findings.append(Finding(
            "ADPT001", Severity.INFO,
            f"LoRA adapter editing {len(bases)} weight(s) of a {architecture} model, made for base "
            f"{base_sha256[:12]}{known} by {lineage.get('kind', 'an unknown tool') if lineage else ''}",
            Location(key=LINEAGE_KEY),
            evidence=base_sha256,
        ))
    return findings
