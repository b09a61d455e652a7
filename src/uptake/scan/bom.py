"""Write a CycloneDX ML-BOM for scanned model files: model, hashes, licence, publisher, template hash, verdict.

One `machine-learning-model` component per weights file (other files of a model folder are `data`
components), each with its sha256, its licence and publisher when known, and the scan's verdict,
provenance statement and chat-template hashes as `uptake:` properties. Built with cyclonedx-python-lib,
written as CycloneDX 1.6 JSON. cyclonedx comes with the [scan] extra and is imported only when a BOM is
asked for, so that scanning (and the store's gate) never depends on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from uptake.atomic import write_text_atomically
from uptake.scan.extras import MissingExtraError, is_installed
from uptake.scan.report import FileReport, ScanReport, printable
from uptake.scan.scanner import WEIGHT_FORMATS

if TYPE_CHECKING:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component

WEIGHT_FORMAT_NAMES = frozenset(kind.value for kind in WEIGHT_FORMATS)


def _properties(report: FileReport) -> list[Property]:
    from cyclonedx.model import Property

    properties = [
        Property(name="uptake:file:path", value=report.path),
        Property(name="uptake:file:format", value=report.format),
        Property(name="uptake:file:size", value=str(report.size)),
        Property(name="uptake:scan:verdict", value=report.verdict.value),
        Property(name="uptake:scan:findings", value=str(len(report.findings))),
    ]
    rules = sorted({f.rule for f in report.findings if f.severity.value != "info"})
    if rules:
        properties.append(Property(name="uptake:scan:rules", value=",".join(rules)))
    if report.provenance is not None:
        properties.append(Property(name="uptake:provenance", value=report.provenance.statement))
    for key, digest in sorted(report.chat_templates.items()):
        properties.append(Property(name=f"uptake:chat_template:sha256:{key}", value=digest))
    if report.model is not None and report.model.publisher_country:
        properties.append(Property(name="uptake:publisher:country", value=report.model.publisher_country))
    return properties


def _component(original: FileReport, extra: Mapping[str, str]) -> Component:
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalEntity

    report = FileReport.from_dict(printable(original.to_dict()))  # undecodable bytes spelled out
    model = report.model
    is_weights = report.format in WEIGHT_FORMAT_NAMES
    licenses = [LicenseFactory().make_from_string(model.license)] if model and model.license else []
    publisher = model.publisher if model else None
    return Component(
        name=model.name if model else Path(report.path).name,
        type=ComponentType.MACHINE_LEARNING_MODEL if is_weights else ComponentType.DATA,
        group=model.family if model else None,
        bom_ref=f"file:{report.path}",
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=report.sha256)] if report.sha256 else [],
        licenses=licenses,
        publisher=publisher,
        supplier=OrganizationalEntity(name=publisher) if publisher else None,
        properties=[*_properties(report), *(Property(name=k, value=v) for k, v in extra.items() if is_weights)],
    )


def build_bom(report: ScanReport, model_properties: Mapping[str, str] | None = None) -> Bom:
    """The ML-BOM of a scan. Raises MissingExtraError without cyclonedx-python-lib (the [scan] extra).
    `model_properties` go on every weights component (the behavioural screen's verdict and evidence)."""
    if not is_installed("cyclonedx"):
        raise MissingExtraError("cyclonedx-python-lib", "writing an ML-BOM")
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository

    scanner = Component(name="uptake", type=ComponentType.APPLICATION, version=report.scanner_version)
    metadata = BomMetaData(
        tools=ToolRepository(components=[scanner]),
        properties=[
            Property(name="uptake:scan:verdict", value=report.verdict.value),
            Property(name="uptake:scan:scanned_at", value=report.scanned_at),
        ],
    )
    extra = dict(model_properties or {})
    return Bom(components=[_component(file, extra) for file in report.files], metadata=metadata)


def bom_json(report: ScanReport, model_properties: Mapping[str, str] | None = None) -> str:
    bom = build_bom(report, model_properties)  # first, so that a missing extra is reported before anything is imported
    from cyclonedx.output.json import JsonV1Dot6

    return JsonV1Dot6(bom).output_as_string(indent=2)


def write_bom(report: ScanReport, path: Path, model_properties: Mapping[str, str] | None = None) -> Path:
    """Write the ML-BOM to `path` atomically (a temp file in the same folder, then a rename)."""
    text = bom_json(report, model_properties)
    write_text_atomically(path, text)
    return path
