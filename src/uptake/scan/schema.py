"""The JSON Schema of `uptake scan --json` output (schema "uptake.scan/1"; documented in docs/scan-schema.md).

A new optional field keeps the version; renaming or removing a field, or changing its meaning, makes
it "uptake.scan/2".
"""

from __future__ import annotations

from typing import Any

from uptake.scan.report import SCHEMA, Severity, Verdict

_NULLABLE_TEXT = {"type": ["string", "null"]}

_LOCATION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "member": {"type": "string"},
        "key": {"type": "string"},
        "tensor": {"type": "string"},
        "offset": {"type": "integer", "minimum": 0},
        "line": {"type": "integer", "minimum": 0},
    },
}

_FINDING = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rule", "severity", "message", "location"],
    "properties": {
        "rule": {"type": "string", "pattern": "^[A-Z]+[0-9]{3}$"},
        "severity": {"enum": [s.value for s in Severity]},
        "message": {"type": "string"},
        "location": _LOCATION,
        "evidence": {"type": "string"},
    },
}

_PROVENANCE = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "required": ["status", "statement"],
    "properties": {
        "status": {"enum": ["matches", "differs", "unpinned", "unknown"]},
        "statement": {"type": "string"},
        "catalog_name": _NULLABLE_TEXT,
        "expected_sha256": _NULLABLE_TEXT,
    },
}

_MODEL = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "required": ["name", "source"],
    "properties": {
        "name": {"type": "string"},
        "source": {"enum": ["catalog", "metadata"]},
        "family": _NULLABLE_TEXT,
        "license": _NULLABLE_TEXT,
        "publisher": _NULLABLE_TEXT,
        "publisher_country": _NULLABLE_TEXT,
    },
}

_FILE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path", "format", "size", "sha256", "verdict", "provenance", "model", "chat_templates", "findings"],
    "properties": {
        "path": {"type": "string"},
        "format": {"type": "string"},
        "size": {"type": "integer", "minimum": 0},
        "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
        "verdict": {"enum": [v.value for v in Verdict]},
        "provenance": _PROVENANCE,
        "model": _MODEL,
        "chat_templates": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
        "findings": {"type": "array", "items": _FINDING},
    },
}

SCAN_REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://uptake.invalid/schemas/scan-1.json",
    "title": "uptake scan report",
    "type": "object",
    "additionalProperties": False,
    "required": ["schema", "scanner", "scanned_at", "duration_s", "targets", "verdict", "counts", "files"],
    "properties": {
        "schema": {"const": SCHEMA},
        "scanner": {
            "type": "object",
            "required": ["name", "version"],
            "properties": {"name": {"const": "uptake"}, "version": {"type": "string"}},
        },
        "scanned_at": {"type": "string"},
        "duration_s": {"type": "number", "minimum": 0},
        "targets": {"type": "array", "items": {"type": "string"}},
        "verdict": {"enum": [v.value for v in Verdict]},
        "counts": {
            "type": "object",
            "required": [v.value for v in Verdict],
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "files": {"type": "array", "items": _FILE},
    },
}
