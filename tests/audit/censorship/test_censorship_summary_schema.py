"""summary.json keeps to its published, versioned schema, and the schema document keeps up."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from audit_fixtures import run_mock_audit

from uptake.audit.censorship.plan import AuditConfig
from uptake.audit.censorship.summary import SCHEMA, SCHEMA_VERSION, summary_schema, validate_summary
from uptake.errors import UptakeError

SCHEMA_DOC = Path(__file__).resolve().parents[3] / "docs" / "audit-summary-schema.md"


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    config = AuditConfig.create(topics=["tiananmen-1989", "xinjiang-camps"], langs=["en", "zh-Hant"], samples=2,
                                baselines=2)
    outcome, written, _ = run_mock_audit(tmp_path_factory.mktemp("home"), config)
    on_disk: dict[str, Any] = json.loads(outcome.folder.summary_path.read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(written))
    return on_disk


def test_written_summary_matches_the_schema(summary: dict[str, Any]) -> None:
    validate_summary(summary)
    assert summary["schema"] == SCHEMA and summary["schema_version"] == SCHEMA_VERSION
    assert summary["consistency"] is not None and summary["audit"]["samples"] == 2


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("headline", 0, "gap"), 1.5),
        (("headline", 0, "lang"), "fr"),
        (("rates", 0, "labels", "refused", "rate"), -0.1),
        (("reproduce", "probe_set", "version"), "not-a-hash"),
        (("run", "status"), "finished"),
        (("schema_version",), 2),
    ],
)
def test_schema_rejects_a_broken_field(summary: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    broken = copy.deepcopy(summary)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(UptakeError, match="does not match"):
        validate_summary(broken)


def test_schema_rejects_a_missing_section(summary: dict[str, Any]) -> None:
    broken = copy.deepcopy(summary)
    del broken["baselines"]
    with pytest.raises(UptakeError, match="baselines"):
        validate_summary(broken)


def test_reproduce_record_names_versions_and_seeds(summary: dict[str, Any]) -> None:
    reproduce = summary["reproduce"]
    assert reproduce["packages"]["llama-cpp-python"] and reproduce["packages"]["gguf"]
    assert reproduce["sampling"]["temperature"] == 0.7 and reproduce["sampling"]["run_seed"] == 0
    assert reproduce["model"]["sha256"] == "0" * 64 and reproduce["classifier"]["mode"] == "rules"


def test_document_describes_every_field_and_the_version() -> None:
    document = SCHEMA_DOC.read_text(encoding="utf-8")
    assert f"`{SCHEMA}`" in document and f"version {SCHEMA_VERSION}" in document.lower()
    schema = summary_schema()
    for name, spec in schema["properties"].items():
        assert f"`{name}`" in document, name
        for child in spec.get("properties", {}):
            assert f"`{child}`" in document, f"{name}.{child}"
        items = spec.get("items", {})
        for child in items.get("properties", {}):
            assert f"`{child}`" in document, f"{name}[].{child}"


def test_accuracy_section_counts_what_the_rows_hold(summary: dict[str, Any], tmp_path: Path) -> None:
    # The mock model refuses targets and answers controls with every key fact.
    cells = {(cell["lang"], cell["arm"]): cell for cell in summary["accuracy"]}
    assert set(cells) == {(lang, arm) for lang in ("en", "zh-Hant") for arm in ("target", "control")}
    for lang in ("en", "zh-Hant"):
        target, control = cells[(lang, "target")], cells[(lang, "control")]
        assert target["answered"] == 0 and target["informative"]["successes"] == 0
        assert control["answered"] == control["responses"] == 4  # 2 topics x 2 samples
        assert control["accurate_of_answered"]["successes"] == 4 and control["mean_fact_coverage_answered"] == 1.0
    old = copy.deepcopy(summary)
    del old["accuracy"]
    validate_summary(old)  # summaries written before the section existed still validate
