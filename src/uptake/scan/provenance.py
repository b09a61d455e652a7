"""Where a file comes from: its sha256 against the catalog, and who made the model.

For a catalog model the statement is plain: the bytes match the published file, or they differ. A
file that differs but claims to be a catalog model also gets its header compared with the catalog.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path

from uptake.models.catalog import Catalog, CatalogEntry
from uptake.models.gguf_header import GGUFHeader
from uptake.models.gguf_meta import metadata_from_header
from uptake.scan.report import Finding, Location, ModelIdentity, Provenance, Severity


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class ProvenanceResult:
    provenance: Provenance
    finding: Finding
    entry: CatalogEntry | None  # the catalog entry the file is, or claims to be

    @property
    def published(self) -> bool:
        return self.provenance.status == "matches"


def _matches(entry: CatalogEntry) -> ProvenanceResult:
    statement = f"matches the published file of {entry.name}"
    return ProvenanceResult(
        Provenance("matches", statement, entry.name, entry.sha256),
        Finding("PROV001", Severity.INFO, f"sha256 {statement}"),
        entry,
    )


def check_provenance(sha256: str, catalog: Catalog, claimed: CatalogEntry | None = None) -> ProvenanceResult:
    """Compare `sha256` with the catalog; `claimed` is the entry the file was pulled or imported as."""
    if claimed is not None:
        if not claimed.sha256:
            statement = f"the catalog pins no hash for {claimed.name}; the first pull is trusted and recorded"
            return ProvenanceResult(
                Provenance("unpinned", statement, claimed.name), Finding("PROV003", Severity.INFO, statement), claimed
            )
        if claimed.sha256 == sha256:
            return _matches(claimed)
        statement = f"differs from the published file of {claimed.name}"
        return ProvenanceResult(
            Provenance("differs", statement, claimed.name, claimed.sha256),
            Finding(
                "PROV002", Severity.WARNING, f"sha256 {statement}", evidence=f"expected {claimed.sha256}, got {sha256}"
            ),
            claimed,
        )
    known = catalog.by_sha256(sha256)
    if known is not None:
        return _matches(known)
    statement = "not a file the catalog knows; its origin cannot be confirmed"
    return ProvenanceResult(Provenance("unknown", statement), Finding("PROV004", Severity.INFO, statement), None)


def header_mismatches(header: GGUFHeader, entry: CatalogEntry) -> list[Finding]:
    """Catalog header figures that the file's header contradicts (for a file that is not the published one)."""
    found = metadata_from_header(header).to_dict()
    return [
        Finding(
            "PROV005",
            Severity.WARNING,
            f"header says {key} = {found.get(key)}, the catalog says {expected} for {entry.name}",
            Location(key=key),
        )
        for key, expected in entry.header.items()
        if key in found and found[key] is not None and found[key] != expected
    ]


def lookalike_entries(header: GGUFHeader, catalog: Catalog) -> list[CatalogEntry]:
    """Catalog entries whose architecture and header figures the file shares (a re-upload, a re-quantization,
    or a fine-tune of that model). Tensor bytes are left out: they change with the quantization."""
    found = metadata_from_header(header).to_dict()
    return [
        entry
        for entry in catalog.entries.values()
        if entry.header
        and entry.architecture == found["architecture"]
        and all(found.get(key) == value for key, value in entry.header.items() if key != "tensor_bytes")
    ]


def closest_reference(template: str | None, entries: list[CatalogEntry]) -> CatalogEntry | None:
    """The entry whose family reference template is closest to `template` (the first, without a template)."""
    with_reference = [entry for entry in entries if entry.chat_template]
    if not with_reference or template is None:
        return with_reference[0] if with_reference else None

    lines = template.splitlines()

    def similarity(entry: CatalogEntry) -> float:
        return difflib.SequenceMatcher(None, (entry.reference_template() or "").splitlines(), lines).ratio()

    return max(with_reference, key=similarity)


def lookalike_finding(entries: list[CatalogEntry], chosen: CatalogEntry) -> Finding:
    names = ", ".join(entry.name for entry in entries)
    return Finding(
        "PROV006",
        Severity.INFO,
        f"header matches the catalog's {names}; its template is compared with the {chosen.chat_template} reference",
    )


def identity_from_entry(entry: CatalogEntry) -> ModelIdentity:
    return ModelIdentity(
        name=entry.name,
        source="catalog",
        family=entry.family,
        license=entry.license,
        publisher=entry.publisher,
        publisher_country=entry.publisher_country,
    )


def identity_from_header(header: GGUFHeader) -> ModelIdentity | None:
    def text(key: str) -> str | None:
        value = header.get(key)
        return value if isinstance(value, str) and value.strip() else None

    name = text("general.name") or text("general.basename")
    if name is None:
        return None
    return ModelIdentity(
        name=name,
        source="metadata",
        family=text("general.architecture"),
        license=text("general.license"),
        publisher=text("general.organization") or text("general.author"),
    )
