"""Checks on the text files of a Hugging Face model folder: configs, tokenizer configs, chat templates, code.

`trust_remote_code=True` runs the Python named by `auto_map` and shipped beside the weights, so both are
reported. Chat templates (in tokenizer_config.json, chat_template.json or chat_template.jinja) go through
the template checks. A shard index whose paths climb out of the folder is dangerous.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from uptake.scan.report import Finding, Location, Severity
from uptake.scan.templates.checks import check_template

MAX_JSON_BYTES = 64 << 20
TEMPLATE_JSON_FILES = frozenset({"tokenizer_config.json", "chat_template.json", "processor_config.json"})


def _load_json(path: Path) -> Any | Finding:
    at = Location()
    if path.stat().st_size > MAX_JSON_BYTES:
        return Finding("HF001", Severity.ERROR, "JSON file is too large to check", at)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        return Finding("HF001", Severity.ERROR, f"JSON file cannot be read: {str(error)[:160]}", at)


def _auto_map_findings(data: dict[str, Any]) -> list[Finding]:
    auto_map = data.get("auto_map")
    if not auto_map:
        return []
    targets = auto_map.values() if isinstance(auto_map, dict) else [auto_map]
    return [
        Finding(
            "HF002",
            Severity.WARNING,
            "config names custom code (auto_map) that runs when loaded with trust_remote_code",
            Location(key="auto_map"),
            str(list(targets))[:200],
        )
    ]


def _template_findings(data: dict[str, Any]) -> tuple[list[Finding], dict[str, str]]:
    value = data.get("chat_template")
    named: dict[str, Any] = {}
    if isinstance(value, str):
        named["chat_template"] = value
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("template"), str):
                named[f"chat_template.{item.get('name', 'default')}"] = item["template"]
    findings: list[Finding] = []
    templates: dict[str, str] = {}
    for key, template in named.items():
        findings += check_template(template, Location(key=key))
        templates[key] = template
    return findings, templates


def _index_findings(data: dict[str, Any], path: Path) -> list[Finding]:
    weight_map = data.get("weight_map")
    if not isinstance(weight_map, dict):
        return [Finding("HF001", Severity.ERROR, "shard index has no weight_map", Location())]
    findings = []
    for shard in sorted({str(v) for v in weight_map.values()}):
        pure = PurePosixPath(shard.replace("\\", "/"))
        at = Location(key="weight_map")
        if pure.is_absolute() or ".." in pure.parts:
            findings.append(
                Finding(
                    "HF004",
                    Severity.DANGEROUS,
                    "shard index points outside the model folder",
                    at,
                    shard,
                )
            )
        elif not (path.parent / shard).is_file():
            findings.append(Finding("HF005", Severity.ERROR, "shard named by the index is missing", at, shard))
    return findings


def check_json_file(path: Path) -> tuple[list[Finding], dict[str, str]]:
    """Findings for one JSON file of a model folder, and the chat templates it holds (key -> source)."""
    data = _load_json(path)
    if isinstance(data, Finding):
        return [data], {}
    if not isinstance(data, dict):
        return [], {}
    findings = _auto_map_findings(data)
    templates: dict[str, str] = {}
    if path.name in TEMPLATE_JSON_FILES:
        template_findings, templates = _template_findings(data)
        findings += template_findings
    if path.name.endswith(".index.json"):
        findings += _index_findings(data, path)
    return findings, templates


def check_template_file(path: Path) -> tuple[list[Finding], dict[str, str]]:
    at = Location()
    try:
        source = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        return [Finding("TPL001", Severity.ERROR, f"template file is not UTF-8 (byte {error.start})", at)], {}
    return check_template(source, at), {path.name: source}


def check_python_file(path: Path) -> list[Finding]:
    return [
        Finding(
            "HF003",
            Severity.WARNING,
            "Python code in the model folder runs when the model is loaded with trust_remote_code",
            Location(),
        )
    ]
