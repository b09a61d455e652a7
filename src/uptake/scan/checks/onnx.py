"""Checks on an ONNX model: external data that points outside the model's folder, and custom operators.

ONNX graphs do not run Python, but a tensor's external-data `location` is a path the runtime opens
(`../../home/user/.ssh/id_rsa` reads a private key into the weights), and an operator from an unknown
domain needs a native library registered by whoever loads the model. The model is parsed with the
`onnx` package (protobuf) without loading external data; onnx comes with the [scan] extra, and without
it an ONNX file is `unreadable` (SCAN001), never clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from uptake.scan.extras import is_installed, missing_extra_finding
from uptake.scan.report import Finding, Location, Severity

STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "com.microsoft"}
)


def _tensors(graph: Any) -> Iterator[Any]:
    """Every tensor of a graph: initializers and tensors held in node attributes, subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _tensors(subgraph)


def _nodes(graph: Any) -> Iterator[Any]:
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _nodes(attribute.g)
            for subgraph in attribute.graphs:
                yield from _nodes(subgraph)


def _external_data_findings(model: Any, folder: Path) -> list[Finding]:
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    findings = []
    for tensor in _tensors(model.graph):
        if not uses_external_data(tensor):
            continue
        info = ExternalDataInfo(tensor)
        location = str(info.location)
        at = Location(tensor=tensor.name, key="external_data.location")
        pure = PurePosixPath(location.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or (len(location) > 1 and location[1] == ":"):
            findings.append(
                Finding(
                    "ONNX002",
                    Severity.DANGEROUS,
                    "tensor data is read from a path outside the model's folder",
                    at,
                    location,
                )
            )
            continue
        target = folder / location
        if not target.is_file():
            findings.append(Finding("ONNX004", Severity.ERROR, "external data file is missing", at, location))
            continue
        end = (info.offset or 0) + (info.length or 0)
        if end > target.stat().st_size:
            findings.append(
                Finding(
                    "ONNX004",
                    Severity.ERROR,
                    f"external data range ends at {end}, past the end of {location}",
                    at,
                )
            )
    return findings


def _custom_domain_findings(model: Any) -> list[Finding]:
    domains = {entry.domain for entry in model.opset_import} | {node.domain for node in _nodes(model.graph)}
    return [
        Finding(
            "ONNX003",
            Severity.WARNING,
            f"model uses operators from the custom domain '{domain}', which need native code to run",
            Location(key="opset_import"),
            domain,
        )
        for domain in sorted(domains - STANDARD_DOMAINS)
    ]


def scan_onnx(path: Path) -> list[Finding]:
    if not is_installed("onnx"):
        return [missing_extra_finding("onnx", "ONNX analysis")]
    import onnx

    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception as error:  # protobuf raises its own DecodeError and friends
        return [
            Finding("ONNX001", Severity.ERROR, f"ONNX model cannot be parsed: {str(error)[:160]}", Location(offset=0))
        ]
    return _external_data_findings(model, path.parent) + _custom_domain_findings(model)
