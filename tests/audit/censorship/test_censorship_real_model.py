"""A tiny audit of the real default model: one topic, one language, short answers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from audit_fixtures import stable_fields

from uptake.audit.censorship.classify import RuleClassifier
from uptake.audit.censorship.journal import row_key
from uptake.audit.censorship.labels import LABELS
from uptake.audit.censorship.outputs import write_outputs
from uptake.audit.censorship.plan import AuditConfig
from uptake.audit.censorship.probes import load_probe_set
from uptake.audit.censorship.records import ClassifierSettings, LoadOptions, engine_record
from uptake.audit.censorship.runner import create_run, execute
from uptake.audit.censorship.runs import RunIndex
from uptake.audit.censorship.summary import validate_summary
from uptake.engines.base import GenerationRequest, GenerationResult
from uptake.engines.llamacpp import LlamaCppEngine
from uptake.engines.loader import load_engine
from uptake.models.catalog import load_catalog
from uptake.models.pull import pull_model
from uptake.models.resolve import resolve_model
from uptake.models.store import Store
from uptake.provenance import identify_model
from uptake.settings import Settings

pytestmark = pytest.mark.slow
DEFAULT = load_catalog().default
CONFIG = AuditConfig.create(topics=["tiananmen-1989"], langs=["en"], baselines=1, max_tokens=40, chunk_size=2)


@pytest.fixture(scope="module")
def settings(real_model_home: Path) -> Settings:
    # One thread: on a machine busy with other work, a second llama.cpp thread that waits for a core
    # slows decoding several times over, and this test is about correctness, not speed.
    settings = Settings(home=real_model_home, context_size=1024, threads=1)
    pull_model(Store(settings), DEFAULT)
    return settings


@pytest.fixture
def engine(settings: Settings) -> Iterator[LlamaCppEngine]:
    loaded = load_engine(DEFAULT, settings)
    yield loaded
    loaded.close()


@contextmanager
def fresh_engine(settings: Settings) -> Iterator[LlamaCppEngine]:
    """A newly loaded engine, as a new process would have: no cache from earlier generations."""
    loaded = load_engine(DEFAULT, settings)
    try:
        yield loaded
    finally:
        loaded.close()


class StopsAfterOneChunk:
    """The real engine, failing on the second batch as a crashed process would."""

    def __init__(self, engine: LlamaCppEngine) -> None:
        self.engine = engine
        self.context_size = engine.context_size
        self.batches = 0

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        self.batches += 1
        if self.batches > 1:
            raise RuntimeError("simulated crash")
        return self.engine.generate_batch(requests)


def new_run(home: Path, settings: Settings, engine: LlamaCppEngine):  # type: ignore[no-untyped-def]
    index = RunIndex(home / "uptake.db")
    folder, run_settings = create_run(
        config=CONFIG, model=identify_model(resolve_model(DEFAULT, settings, pull=False)),
        engine=engine_record(engine, LoadOptions()), classifier=ClassifierSettings(), probe_set=load_probe_set(),
        command="test", index=index,
        runs_dir=home / "runs",
    )
    return folder, run_settings, index


def test_tiny_audit_of_the_default_model(tmp_path: Path, settings: Settings, engine: LlamaCppEngine) -> None:
    probe_set = load_probe_set()
    folder, run_settings, index = new_run(tmp_path / "whole", settings, engine)
    whole = execute(folder, run_settings, engine, RuleClassifier(), probe_set, index)
    summary = write_outputs(whole, probe_set, index)
    validate_summary(summary)
    assert whole.status == "done" and len(whole.rows) == 4
    assert all(row["label"] in LABELS and row["completion_tokens"] <= 40 for row in whole.rows)
    capital = next(row for row in whole.rows if row["probe_id"] == "capital-australia.neutral")
    assert capital["label"] == "answered" and capital["fact_coverage"] == 1.0, capital["response"]
    assert summary["model"]["quantization"] == "Q4_K_M" and len(summary["model"]["sha256"]) == 64
    accuracy = {cell["arm"]: cell for cell in summary["accuracy"]}
    for arm in ("target", "control"):
        row = next(row for row in whole.rows if row["arm"] == arm)
        answered = int(row["label"] == "answered")
        accurate = answered * int(row["fact_coverage"] >= 1 / 3)
        assert (accuracy[arm]["answered"], accuracy[arm]["informative"]["successes"]) == (answered, accurate), row

    folder, run_settings, index = new_run(tmp_path / "stopped", settings, engine)
    with fresh_engine(settings) as first, pytest.raises(RuntimeError, match="simulated crash"):
        execute(folder, run_settings, StopsAfterOneChunk(first), RuleClassifier(), probe_set, index)  # type: ignore[arg-type]
    with fresh_engine(settings) as second:
        resumed = execute(folder, run_settings, second, RuleClassifier(), probe_set, index)
    assert resumed.generated == 2
    as_run = sorted((stable_fields(row) for row in whole.rows), key=row_key)
    assert sorted((stable_fields(row) for row in resumed.rows), key=row_key) == as_run
