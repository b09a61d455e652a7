"""Structural checks on a GGUF file: header, metadata, tensor table and the layout of the data section.

Only the header is read (through uptake.models.gguf_header, which memory-maps the file and never
touches the weights). Loaders have been crashed or exploited by headers whose sizes overflow, whose
tensors point past the end of the file or on top of each other, and by duplicate keys that two
readers resolve differently; each of those is a finding here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uptake.models.gguf_header import ArrayValue, GGUFFormatError, GGUFHeader, TensorInfo, read_gguf_header
from uptake.scan.checks.adapter import adapter_findings
from uptake.scan.report import Finding, Location, Severity

TEMPLATE_KEY = "tokenizer.chat_template"
INT64_LIMIT = 1 << 63
MAX_METADATA_STRING = 1 << 20
MAX_METADATA_ARRAY = 1 << 20
MAX_HEADER_BYTES = 256 << 20
MAX_ALIGNMENT = 1 << 16


@dataclass
class GGUFScan:
    findings: list[Finding] = field(default_factory=list)
    templates: dict[str, str] = field(default_factory=dict)  # metadata key -> template source
    header: GGUFHeader | None = None


def _tensor_at(tensor: TensorInfo) -> Location:
    return Location(tensor=tensor.name, offset=tensor.info_offset)


def _read(path: Path) -> GGUFHeader | Finding:
    try:
        return read_gguf_header(path)
    except GGUFFormatError as error:
        return Finding("GGUF001", Severity.ERROR, f"GGUF header cannot be read: {error}", Location(offset=error.offset))


def _metadata_findings(header: GGUFHeader) -> list[Finding]:
    findings = [
        Finding(
            "GGUF002",
            Severity.DANGEROUS,
            f"metadata key '{key}' appears more than once; loaders disagree on which value wins",
            Location(key=key, offset=header.metadata_offsets.get(key)),
        )
        for key in dict.fromkeys(header.duplicate_keys)
    ]
    for key, value in header.metadata.items():
        findings.extend(_oversized(key, value, header.metadata_offsets.get(key)))
    if header.data_offset > MAX_HEADER_BYTES:
        findings.append(
            Finding(
                "GGUF012",
                Severity.WARNING,
                f"header takes {header.data_offset} bytes, far more than metadata and a tensor table need",
                Location(offset=0),
            )
        )
    return findings


def _oversized(key: str, value: Any, offset: int | None) -> list[Finding]:
    at = Location(key=key, offset=offset)
    if isinstance(value, str) and len(value) > MAX_METADATA_STRING:
        return [Finding("GGUF012", Severity.WARNING, f"metadata string of {len(value)} characters", at)]
    if isinstance(value, ArrayValue) and value.count > MAX_METADATA_ARRAY:
        return [Finding("GGUF012", Severity.WARNING, f"metadata array of {value.count} items", at)]
    return []


def _tensor_findings(tensor: TensorInfo, header: GGUFHeader) -> list[Finding]:
    at = _tensor_at(tensor)
    if any(dim >= INT64_LIMIT for dim in tensor.shape) or tensor.n_elements >= INT64_LIMIT:
        return [
            Finding(
                "GGUF005",
                Severity.DANGEROUS,
                f"tensor shape {list(tensor.shape)} overflows 64-bit sizes, a known way to corrupt loader memory",
                at,
            )
        ]
    n_bytes = tensor.n_bytes
    if n_bytes is None:
        if tensor.type_name.startswith("unknown"):
            return [Finding("GGUF003", Severity.ERROR, f"tensor has unknown type code {tensor.type_code}", at)]
        return [
            Finding(
                "GGUF004",
                Severity.ERROR,
                f"tensor shape {list(tensor.shape)} is not a whole number of {tensor.type_name} blocks",
                at,
            )
        ]
    findings = []
    if tensor.offset % header.alignment:
        findings.append(
            Finding(
                "GGUF006",
                Severity.ERROR,
                f"tensor data offset {tensor.offset} is not a multiple of the alignment {header.alignment}",
                at,
            )
        )
    end = header.data_offset + tensor.offset + n_bytes
    if end > header.file_size:
        findings.append(
            Finding(
                "GGUF007",
                Severity.ERROR,
                f"tensor data ends at byte {end}, past the end of the file ({header.file_size} bytes): "
                "truncated, or the offsets lie",
                at,
            )
        )
    return findings


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def _layout_findings(header: GGUFHeader) -> list[Finding]:
    """Overlaps, gaps and trailing bytes in the data section (tensors with known sizes only)."""
    findings = []
    placed = sorted(
        (t for t in header.tensors if t.n_bytes is not None and t.n_elements < INT64_LIMIT), key=lambda t: t.offset
    )
    previous: TensorInfo | None = None
    previous_end = 0
    for tensor in placed:
        size = tensor.n_bytes or 0
        if previous is not None and tensor.offset < previous_end:
            findings.append(
                Finding(
                    "GGUF009",
                    Severity.DANGEROUS,
                    f"tensor data overlaps '{previous.name}'; no writer produces this, the file was crafted",
                    _tensor_at(tensor),
                )
            )
        elif tensor.offset > _align(previous_end, header.alignment):
            gap = tensor.offset - previous_end
            findings.append(
                Finding(
                    "GGUF010",
                    Severity.WARNING,
                    f"{gap} unexplained bytes before this tensor's data (room for hidden content)",
                    Location(tensor=tensor.name, offset=header.data_offset + previous_end),
                )
            )
        if tensor.offset + size >= previous_end:
            previous, previous_end = tensor, tensor.offset + size
    if header.alignment > MAX_ALIGNMENT:
        findings.append(
            Finding(
                "GGUF010",
                Severity.WARNING,
                f"alignment of {header.alignment} bytes leaves up to that much unexplained padding",
                Location(key="general.alignment", offset=header.metadata_offsets.get("general.alignment")),
            )
        )
    data_end = header.data_offset + _align(previous_end, header.alignment)
    if placed and header.file_size > data_end:
        findings.append(
            Finding(
                "GGUF011",
                Severity.WARNING,
                f"{header.file_size - data_end} bytes follow the last tensor (appended content)",
                Location(offset=data_end),
            )
        )
    return findings


def _duplicate_tensors(header: GGUFHeader) -> list[Finding]:
    seen: set[str] = set()
    findings = []
    for tensor in header.tensors:
        if tensor.name in seen:
            findings.append(
                Finding(
                    "GGUF008",
                    Severity.DANGEROUS,
                    "tensor name appears more than once; loaders disagree on which one is used",
                    _tensor_at(tensor),
                )
            )
        seen.add(tensor.name)
    return findings


def _templates(header: GGUFHeader) -> tuple[dict[str, str], list[Finding]]:
    templates: dict[str, str] = {}
    findings = []
    for key, value in header.metadata.items():
        if not key.startswith(TEMPLATE_KEY):
            continue
        if isinstance(value, str):
            templates[key] = value
        elif not isinstance(value, ArrayValue) or key != "tokenizer.chat_templates":
            findings.append(
                Finding(
                    "GGUF014",
                    Severity.WARNING,
                    f"chat template key holds a {type(value).__name__}, not text",
                    Location(key=key, offset=header.metadata_offsets.get(key)),
                )
            )
    return templates, findings


def scan_gguf(path: Path) -> GGUFScan:
    """Every GGUF structure check; the templates come back for the template checks."""
    result = _read(path)
    if isinstance(result, Finding):
        return GGUFScan(findings=[result])
    header = result
    scan = GGUFScan(header=header)
    scan.findings += _metadata_findings(header)
    scan.findings += _duplicate_tensors(header)
    for tensor in header.tensors:
        scan.findings += _tensor_findings(tensor, header)
    scan.findings += _layout_findings(header)
    scan.findings += adapter_findings(header)
    if not header.tensors:
        scan.findings.append(Finding("GGUF013", Severity.INFO, "file holds no tensors (a vocabulary-only GGUF)"))
    scan.templates, template_findings = _templates(header)
    scan.findings += template_findings
    return scan
