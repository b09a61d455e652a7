"""Compare models on one task, on this device: quality with intervals, rows per minute, peak memory, what
`fit` predicted, and the smallest model that passes every gate.

Each model runs in a process of its own (`uptake task run … --json`), so that its peak memory is its own and
not the high-water mark of every model loaded before it, and a model that fails does not end the comparison.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from uptake.errors import UptakeError, UsageError
from uptake.settings import Settings


def parse_models(text: str) -> list[str]:
    models = [name.strip() for name in text.split(",") if name.strip()]
    if len(models) < 1 or len(set(models)) != len(models):
        raise UsageError("--models takes model names, comma-separated and each once: e.g. --models a,b,c.")
    return models


def run_one(task: str, model: str, out: Path, limit: int | None, *, quiet: bool) -> dict[str, Any]:
    """`uptake task run` for one model in a fresh process; its summary, or why it failed."""
    command = [sys.executable, "-m", "uptake", "task", "run", task, "--model", model, "--out", str(out), "--json"]
    if limit is not None:
        command += ["--limit", str(limit)]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE if quiet else None, text=True,
                          env=os.environ.copy(), check=False)
    if done.returncode not in (0, 4):
        lines = (done.stderr or "").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        return {"model": model, "ok": False, "error": reason, "exit_status": done.returncode}
    summary = json.loads(done.stdout)
    return {"model": model, "ok": True, "summary": summary, "exit_status": done.returncode}


def fit_prediction(
    model: str, summary: dict[str, Any], settings: Settings, parallel: int, context: int
) -> dict[str, Any] | None:
    """What `uptake fit` predicts for this model and the run's workload on this machine (catalog models only)."""
    from uptake.fit.estimate import Workload, estimate
    from uptake.fit.probe import probe_this_machine
    from uptake.fit.recommend import ShapeResolver
    from uptake.models.catalog import load_catalog

    catalog = load_catalog()
    try:
        entry = catalog.get(model)
    except UptakeError:
        return None
    speed = summary["speed"]
    rows = max(1, speed.get("rows_run") or summary["counts"]["done"])
    prompt = speed["prompt_tokens"] // rows
    computed = (speed["prompt_tokens"] - speed.get("reused_prompt_tokens", 0)) / rows  # the rest came from the cache
    completion = max(1, speed["completion_tokens"] // rows)
    probe = probe_this_machine(settings)
    from uptake.fit.calibration import fit_calibration, load_records

    calibration = fit_calibration(load_records(settings, probe.fingerprint), probe.profile)
    resolver = ShapeResolver(settings, offline=True)
    try:
        shape = resolver.shape(entry)
    finally:
        resolver.close()
    workload = Workload(context=context, parallel=parallel, prompt_tokens=prompt, decode_tokens=completion,
                        threads=settings.threads)
    predicted = estimate(shape, workload, probe.profile, calibration)
    decode_total = predicted.speed.decode_tokens_per_s_total
    prompt_rate = predicted.speed.prompt_tokens_per_s
    # a row costs its own prompt tokens (what the prefix cache did not hold) and its share of decode steps
    seconds_per_row = computed / prompt_rate + completion / decode_total
    return {
        "memory_bytes": predicted.memory.total,
        "prompt_tokens_per_s": round(prompt_rate, 2),
        "decode_tokens_per_s_total": round(decode_total, 2),
        "rows_per_minute": round(60 / seconds_per_row, 2),
        "calibrated": predicted.calibrated,
    }


def smallest_passing(entries: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The passing model with the fewest parameters (then the smallest file)."""
    passing = [entry for entry in entries if entry["ok"] and entry["summary"]["passed"] is True]

    def size(entry: dict[str, Any]) -> tuple[float, float]:
        model = entry["summary"].get("model") or {}
        return float(model.get("parameters") or float("inf")), float(entry.get("file_bytes") or float("inf"))

    return min(passing, key=size) if passing else None


def compare_models(
    task: str, models: Sequence[str], out: Path, limit: int | None, settings: Settings, *, quiet: bool,
    on_model: Callable[[str], None] | None = None, parallel: int, context: int,
) -> dict[str, Any]:
    entries = []
    for model in models:
        if on_model is not None:
            on_model(model)
        entry = run_one(task, model, out / model.replace(":", "-").replace("/", "_"), limit, quiet=quiet)
        if entry["ok"]:
            model_path = (entry["summary"].get("model") or {}).get("path")
            entry["file_bytes"] = Path(model_path).stat().st_size if model_path and Path(model_path).exists() else None
            entry["fit"] = fit_prediction(model, entry["summary"], settings, parallel, context)
        entries.append(entry)
    best = smallest_passing(entries)
    tried = len(entries)
    if best is not None:
        line = f"smallest model that passes every gate of {task}: {best['model']}"
    elif not any(entry["ok"] and entry["summary"]["gates"] for entry in entries):
        line = f"{task} has no gates that could be judged; no model is chosen"
    else:
        line = f"none of the {tried} models passes every gate of {task}"
    chosen = None if best is None else best["model"]
    return {"task": task, "limit": limit, "models": entries, "smallest_passing": chosen, "verdict": line}
