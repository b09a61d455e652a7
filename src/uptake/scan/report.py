"""What a scan found: findings, per-file verdicts, and the versioned JSON form (see docs/scan-schema.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA = "uptake.scan/1"


class Severity(StrEnum):
    """How much a finding weighs. `error` means the scanner could not read something fully."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    DANGEROUS = "dangerous"


class Verdict(StrEnum):
    CLEAN = "clean"
    WARNING = "warning"
    UNREADABLE = "unreadable"
    DANGEROUS = "dangerous"


_VERDICT_OF = {
    Severity.INFO: Verdict.CLEAN,
    Severity.WARNING: Verdict.WARNING,
    Severity.ERROR: Verdict.UNREADABLE,
    Severity.DANGEROUS: Verdict.DANGEROUS,
}
_VERDICT_RANK = {Verdict.CLEAN: 0, Verdict.WARNING: 1, Verdict.UNREADABLE: 2, Verdict.DANGEROUS: 3}

EXIT_CLEAN = 0
EXIT_WARNING = 1
EXIT_FAILED = 2  # dangerous or unreadable
EXIT_USAGE = 3


def printable(value: Any) -> Any:
    """The value with undecodable bytes (kept by readers as lone surrogates) spelled out as escapes, so
    that the report can always be written as UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {printable(key): printable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [printable(item) for item in value]
    return value


def worst(verdicts: list[Verdict]) -> Verdict:
    return max(verdicts, key=_VERDICT_RANK.__getitem__, default=Verdict.CLEAN)


@dataclass(frozen=True)
class Location:
    """Where a finding sits. Every field is optional; a finding names as many as it knows."""

    member: str | None = None  # a file inside an archive or a model folder
    key: str | None = None  # a metadata key or JSON key
    tensor: str | None = None
    offset: int | None = None  # byte offset in the file (or in `member`)
    line: int | None = None  # line in a chat template

    def to_dict(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if value is not None}

    def describe(self) -> str:
        parts = [
            f"{name} {value}" if name in ("offset", "line") else f"{name} '{value}'"
            for name, value in self.to_dict().items()
        ]
        return ", ".join(parts)


NOWHERE = Location()


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    location: Location = field(default_factory=Location)
    evidence: str | None = None  # a short excerpt of what triggered the rule

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "location": self.location.to_dict(),
        }
        if self.evidence is not None:
            data["evidence"] = self.evidence
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            rule=data["rule"],
            severity=Severity(data["severity"]),
            message=data["message"],
            location=Location(**data.get("location", {})),
            evidence=data.get("evidence"),
        )


@dataclass(frozen=True)
class Provenance:
    """How the file relates to the catalog. `status` is matches, differs, unpinned or unknown."""

    status: str
    statement: str
    catalog_name: str | None = None
    expected_sha256: str | None = None


@dataclass(frozen=True)
class ModelIdentity:
    """What the model is, from the catalog when the file is a catalog file, else from its own metadata."""

    name: str
    source: str  # "catalog" or "metadata"
    family: str | None = None
    license: str | None = None
    publisher: str | None = None
    publisher_country: str | None = None


@dataclass
class FileReport:
    path: str
    format: str
    size: int
    findings: list[Finding] = field(default_factory=list)
    sha256: str | None = None
    provenance: Provenance | None = None
    model: ModelIdentity | None = None
    chat_templates: dict[str, str] = field(default_factory=dict)  # template key -> sha256

    @property
    def verdict(self) -> Verdict:
        return worst([_VERDICT_OF[finding.severity] for finding in self.findings])

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "size": self.size,
            "sha256": self.sha256,
            "verdict": self.verdict.value,
            "provenance": None if self.provenance is None else dict(self.provenance.__dict__),
            "model": None if self.model is None else dict(self.model.__dict__),
            "chat_templates": dict(self.chat_templates),
            "findings": [finding.to_dict() for finding in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileReport:
        provenance, model = data.get("provenance"), data.get("model")
        return cls(
            path=data["path"],
            format=data["format"],
            size=data["size"],
            findings=[Finding.from_dict(item) for item in data.get("findings", [])],
            sha256=data.get("sha256"),
            provenance=None if provenance is None else Provenance(**provenance),
            model=None if model is None else ModelIdentity(**model),
            chat_templates=dict(data.get("chat_templates", {})),
        )


@dataclass
class ScanReport:
    targets: list[str]
    files: list[FileReport]
    scanned_at: str
    duration_s: float
    scanner_version: str

    @property
    def verdict(self) -> Verdict:
        return worst([report.verdict for report in self.files])

    def exit_code(self, strict: bool = False) -> int:
        verdict = self.verdict
        if verdict in (Verdict.DANGEROUS, Verdict.UNREADABLE):
            return EXIT_FAILED
        if verdict is Verdict.WARNING:
            return EXIT_FAILED if strict else EXIT_WARNING
        return EXIT_CLEAN

    def findings(self) -> list[tuple[FileReport, Finding]]:
        return [(report, finding) for report in self.files for finding in report.findings]

    def to_dict(self) -> dict[str, Any]:
        counts = {verdict.value: 0 for verdict in Verdict}
        for report in self.files:
            counts[report.verdict.value] += 1
        data: dict[str, Any] = printable(
            {
                "schema": SCHEMA,
                "scanner": {"name": "uptake", "version": self.scanner_version},
                "scanned_at": self.scanned_at,
                "duration_s": round(self.duration_s, 4),
                "targets": list(self.targets),
                "verdict": self.verdict.value,
                "counts": counts,
                "files": [report.to_dict() for report in self.files],
            }
        )
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanReport:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"scan report schema {data.get('schema')!r} is not {SCHEMA!r}")
        return cls(
            targets=list(data["targets"]),
            files=[FileReport.from_dict(item) for item in data["files"]],
            scanned_at=data["scanned_at"],
            duration_s=float(data["duration_s"]),
            scanner_version=data["scanner"]["version"],
        )
