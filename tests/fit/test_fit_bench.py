"""`bench` on the tiny GGUF through the real llama.cpp: figures come back, are stored, and calibrate fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from uptake.errors import EngineError, ModelNotFoundError, UsageError
from uptake.fit import probe as probe_module
from uptake.fit.bench import BenchOptions, bench_model, bench_target, best_of, run_worker, timed
from uptake.fit.bench_worker import WorkerConfig, WorkerResult
from uptake.fit.calibration import fit_calibration, load_records
from uptake.fit.probe import Probe, probe_this_machine
from uptake.models.resolve import resolve_model
from uptake.settings import Settings

OPTIONS = BenchOptions(context=256, threads=1, parallel=2, prompt_tokens=16, decode_tokens=8)


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, Probe]:
    real_run = probe_module.run_probe
    monkeypatch.setattr(probe_module, "run_probe", lambda: real_run(seconds=0.05, buffer_bytes=16 << 20))
    settings = Settings(home=tmp_path)
    return settings, probe_this_machine(settings)


def test_bench_measures_one_and_n_sequences_and_stores_them(tiny_gguf: Path, machine: tuple[Settings, Probe]) -> None:
    settings, probe = machine
    target = bench_target(resolve_model(str(tiny_gguf), settings))
    assert target.name == "tiny" and len(target.sha256) == 64
    report = bench_model(target, OPTIONS, probe, settings)
    assert [run.parallel for run in report.runs] == [1, 2]
    for run in report.runs:
        worker = run.worker
        assert worker.n_ctx == 256 * run.parallel
        assert worker.kv_cells_used == 24 * run.parallel
        assert worker.load_s > 0 and worker.prompt_tokens_per_s > 0 and worker.decode_tokens_per_s > 0
        assert worker.rss_before_load_bytes < worker.working_set_bytes <= worker.peak_rss_bytes
        assert run.memory.measured == worker.working_set_bytes and run.memory.predicted > 0
        assert run.decode.calibrated is None, "no earlier records: nothing to calibrate with"
        assert run.decode_limit_steps_per_s > 0
    records = load_records(settings, probe.fingerprint)
    assert len(records) == 2
    assert {r.workload.parallel for r in records} == {1, 2}
    assert load_records(settings, "another-machine") == []

    again = bench_model(target, OPTIONS, probe, settings, store=False)
    assert all(run.decode.calibrated is not None for run in again.runs)
    assert len(load_records(settings, probe.fingerprint)) == 2
    assert fit_calibration(records, probe.profile).samples == 2
    data = again.to_dict()
    assert data["runs"][1]["decode_tokens_per_s"]["calibrated_error"] is not None


def test_a_failing_worker_says_why(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    config = WorkerConfig(
        model_path=str(broken), context=256, parallel=1, threads=1, batch=64, prompt_tokens=8, decode_tokens=4
    )
    with pytest.raises(EngineError, match="failed"):
        run_worker(config)


def test_targets_must_be_gguf_files_or_stored_models(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(UsageError, match="not a GGUF"):
        resolve_model(str(text), Settings(home=tmp_path))
    with pytest.raises(ModelNotFoundError):
        resolve_model("qwen2.5-coder:0.5b", Settings(home=tmp_path), pull=False)


def test_options_must_fit_the_context() -> None:
    with pytest.raises(UsageError, match="--ctx"):
        BenchOptions(context=64, prompt_tokens=64, decode_tokens=64)
    with pytest.raises(UsageError, match="at least 1"):
        BenchOptions(parallel=0)
    assert BenchOptions(parallel=1).parallel_levels() == [1]


def test_cpu_time_needs_one_thread_and_reports_the_cpu_clock(tiny_gguf: Path, machine: tuple[Settings, Probe]) -> None:
    with pytest.raises(UsageError, match="--threads 1"):
        BenchOptions(threads=2, cpu_time=True)
    settings, probe = machine
    options = BenchOptions(context=256, threads=1, parallel=1, prompt_tokens=16, decode_tokens=8, cpu_time=True)
    report = bench_model(bench_target(resolve_model(str(tiny_gguf), settings)), options, probe, settings, store=False)
    run = report.runs[0]
    sample = run.samples[0]
    assert sample.decode_step_cpu_s_median is not None and sample.prompt_tokens_per_s_cpu is not None
    # A thread never gets more CPU time than wall time passes (up to the two clocks' granularity).
    assert 0 < sample.decode_step_cpu_s_median <= sample.decode_step_s_median * 1.1 + 1e-4
    assert run.decode.measured == pytest.approx(1 / sample.decode_step_cpu_s_median)


def _sample(decode_step_s: float, prompt: float, memory: int, load_s: float) -> WorkerResult:
    return WorkerResult(
        load_s=load_s,
        prompt_tokens_per_s=prompt,
        decode_tokens_per_s=1 / decode_step_s,
        decode_step_s_median=decode_step_s,
        decode_step_s_mean=decode_step_s,
        prompt_tokens_per_s_cpu=None,
        decode_tokens_per_s_cpu=None,
        decode_step_cpu_s_median=None,
        rss_before_load_bytes=1,
        rss_after_load_bytes=2,
        peak_rss_bytes=memory + 1,
        working_set_bytes=memory,
        working_set_measured=True,
        n_ctx=256,
        kv_cells_used=24,
    )


def test_repeats_keep_the_fastest_run_and_the_median_memory() -> None:
    combined = best_of([_sample(0.03, 90.0, 300, 1.5), _sample(0.02, 80.0, 100, 2.0), _sample(0.05, 95.0, 200, 0.9)])
    assert combined.decode_step_s_median == 0.02 and combined.decode_tokens_per_s == 50.0
    assert combined.prompt_tokens_per_s == 95.0
    assert combined.working_set_bytes == 200 and combined.load_s == 0.9
    with pytest.raises(EngineError, match="CPU time"):
        timed(_sample(0.02, 80.0, 100, 2.0), cpu_time=True)
