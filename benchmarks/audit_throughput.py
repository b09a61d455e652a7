"""Probes per minute of the censorship audit runner against a plain llama_cpp.Llama loop, and audit wall times.

    .venv/bin/python benchmarks/audit_throughput.py [--model NAME] [--threads N] [--full]

1. runner: the quick audit's generations through the audit runner (`Engine.generate_batch` in
   chunks, then the classifier and the journal);
2. plain: the same prompts one at a time through `Llama.create_chat_completion`, greedy, same
   model file, token limit, threads and context, right after the runner (each phase waits for a
   quiet machine first);
   With --llama-server (a binary, or "build"), llama.cpp's own server also answers the same prompts
   with as many slots as the audit has sequences: how far batching goes on this machine at all;
3. `uptake audit censorship MODEL --quick` end to end in a fresh process (load, generate, label,
   summary, report);
4. the full default audit: timed end to end with --full, else estimated from the runner's rate on
   a sample of the full plan at the full audit's token limit.

Targets: --quick under 3 minutes, the full audit under 20, the runner at least 2.5x the plain loop.
The machine's load average is recorded around each phase: other work on a small machine skews
every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import load, save, settle

from uptake.audit.censorship.plan import AuditConfig, build_plan, load_options_for
from uptake.audit.censorship.probes import load_probe_set
from uptake.audit.censorship.records import ClassifierSettings
from uptake.audit.censorship.runs import RunIndex
from uptake.audit.censorship.session import started_audit
from uptake.models.catalog import load_catalog
from uptake.models.resolve import ResolvedModel, resolve_model
from uptake.settings import get_settings

TARGET_QUICK_S = 180
TARGET_FULL_S = 1200
TARGET_SPEEDUP = 2.5
LLAMACPP_SOURCE = Path(__file__).resolve().parents[1] / "src" / "uptake" / "engines" / "llamacpp" / "engine.py"


def plain_loop(model: ResolvedModel, config: AuditConfig, context: int, threads: int) -> dict[str, Any]:
    """The reference: the audit's generations one at a time through llama-cpp-python's chat API.
    Run after the runner, not beside it: the runner keeps the engine busy between its chunks, so
    nothing else may share the cores while it is timed."""
    from llama_cpp import Llama

    plan = build_plan(config, load_probe_set())
    llm = Llama(str(model.path), n_ctx=context, n_threads=threads, n_threads_batch=threads, verbose=False)
    tokens = 0
    started = time.perf_counter()
    for item in plan:
        reply: Any = llm.create_chat_completion(
            messages=[{"role": "user", "content": item.probe.prompt(item.lang)}],
            temperature=0.0, max_tokens=config.max_tokens, seed=config.seed,
        )
        tokens += reply["usage"]["completion_tokens"]
    wall = time.perf_counter() - started
    llm.close()
    return rate(len(plan), tokens, wall)


def llama_server(binary: Path, model: ResolvedModel, config: AuditConfig, threads: int) -> dict[str, Any]:
    """The same prompts through llama-server, `parallel` slots busy at once (its defaults otherwise)."""
    import asyncio

    import httpx
    from serve_throughput import free_port, running

    options = audit_options(config, threads)
    slots = options["parallel"]
    port = free_port()
    command = [str(binary), "-m", str(model.path), "--host", "127.0.0.1", "--port", str(port), "-t", str(threads),
               "-tb", str(threads), "-np", str(slots), "-c", str(slots * options["context_size"]), "--no-webui"]
    plan = build_plan(config, load_probe_set())

    async def ask_all(base_url: str) -> tuple[float, int]:
        gate = asyncio.Semaphore(slots)
        async with httpx.AsyncClient(base_url=base_url, timeout=3600) as http:
            async def ask(prompt: str) -> int:
                async with gate:
                    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": config.max_tokens,
                            "temperature": 0.0, "seed": config.seed}
                    answer = await http.post("/v1/chat/completions", json=body)
                    answer.raise_for_status()
                    return int(answer.json()["usage"]["completion_tokens"])

            started = time.perf_counter()
            counts = await asyncio.gather(*(ask(item.probe.prompt(item.lang)) for item in plan))
            return time.perf_counter() - started, sum(counts)

    with tempfile.TemporaryDirectory(prefix="audit-bench-server-") as logs, \
            running(command, port, Path(logs) / "llama-server.log") as base_url:
        wall, tokens = asyncio.run(ask_all(base_url))
    return {**rate(len(plan), tokens, wall), "slots": slots}


def runner(model: ResolvedModel, config: AuditConfig, threads: int, home: Path) -> dict[str, Any]:
    """The audit runner alone, started as `uptake audit censorship` starts it."""
    index = RunIndex(home / "uptake.db")
    settings = get_settings().model_copy(update={"home": home})
    with started_audit(model, config, ClassifierSettings(), index=index, command="benchmark", threads=threads,
                       settings=settings) as session:
        started = time.perf_counter()
        outcome = session.execute()
        wall = time.perf_counter() - started
    return rate(len(outcome.rows), sum(row["completion_tokens"] for row in outcome.rows), wall)


def audit_options(config: AuditConfig, threads: int) -> dict[str, Any]:
    """The engine as `uptake audit censorship` loads it (context, parallel sequences), with these threads."""
    return {**load_options_for(config, get_settings()), "threads": threads}


def rate(generations: int, tokens: int, wall: float) -> dict[str, Any]:
    return {"generations": generations, "completion_tokens": tokens, "wall_s": round(wall, 2),
            "probes_per_minute": round(generations / wall * 60, 2),
            "tokens_per_second": round(tokens / wall, 2)}


def cli_audit(model: ResolvedModel, extra: list[str], threads: int, home: Path) -> dict[str, Any]:
    """`uptake audit censorship` in a fresh process, from start to the report on disk."""
    env = {**os.environ, "UPTAKE_HOME": str(home), "UPTAKE_THREADS": str(threads)}
    command = [sys.executable, "-m", "uptake", "audit", "censorship", str(model.path), *extra, "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"audit failed: {done.stderr.strip()}")
    summary = json.loads(done.stdout)
    return {"command": " ".join(["uptake", "audit", "censorship", model.name, *extra]), "wall_s": round(wall, 1),
            "generations": summary["counts"]["completed"],
            "completion_tokens": summary["counts"]["completion_tokens"],
            "headline": [{key: gap[key] for key in ("lang", "gap", "low", "high", "mcnemar_p")}
                         for gap in summary["headline"]]}


QUIET = {"max_load": 1.0, "max_wait_s": 600.0}


def timed(measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    before = settle(QUIET["max_load"], QUIET["max_wait_s"])
    return {**measure(), "load_before": before, "load_after": load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=load_catalog().default)
    parser.add_argument("--threads", type=int, default=get_settings().threads)
    parser.add_argument("--full", action="store_true", help="time the full default audit end to end")
    parser.add_argument("--full-sample", type=int, default=32, help="generations to estimate the full audit from")
    parser.add_argument("--llama-server", help='a llama-server binary to measure too, or "build" to build one')
    parser.add_argument("--max-load", type=float, default=1.0, help="wait for the load average to drop below this")
    parser.add_argument("--max-wait", type=float, default=600.0, help="but at most this long (s) before each phase")
    args = parser.parse_args()
    QUIET.update(max_load=args.max_load, max_wait_s=args.max_wait)
    model = resolve_model(args.model)
    probe_set = load_probe_set()
    quick = AuditConfig.create(quick=True)
    full = AuditConfig.create()
    full_plan = build_plan(full, probe_set)
    batched = "BatchScheduler" in LLAMACPP_SOURCE.read_text(encoding="utf-8")
    phases: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
        home = Path(scratch)
        phases["runner"] = timed(lambda: runner(model, quick, args.threads, home / "runner"))
        context = audit_options(quick, args.threads)["context_size"]
        phases["plain_loop"] = timed(lambda: plain_loop(model, quick, context, args.threads))
        if args.llama_server:
            from serve_throughput import build_llama_server

            binary = build_llama_server() if args.llama_server == "build" else Path(args.llama_server)
            phases["llama_server"] = timed(lambda: llama_server(binary, model, quick, args.threads))
        print("runner", phases["runner"], "\nplain_loop", phases["plain_loop"], flush=True)
        phases["quick_end_to_end"] = timed(lambda: cli_audit(model, ["--quick"], args.threads, home / "quick"))
        phases["full_sample"] = timed(
            lambda: runner(model, sample_config(full, args.full_sample), args.threads, home / "full-sample")
        )
        if args.full:
            phases["full_end_to_end"] = timed(lambda: cli_audit(model, [], args.threads, home / "full"))
    speedup = phases["runner"]["probes_per_minute"] / phases["plain_loop"]["probes_per_minute"]
    full_estimate = len(full_plan) / phases["full_sample"]["probes_per_minute"] * 60
    results = {
        "model": model.name, "model_sha256": model.sha256, "threads": args.threads,
        "engine_options": {"quick": audit_options(quick, args.threads), "full": audit_options(full, args.threads)},
        "engine_generate_batch_uses_batch_scheduler": batched,
        "quick": {"generations": len(build_plan(quick, probe_set)), "max_tokens": quick.max_tokens,
                  "langs": list(quick.langs)},
        "full": {"generations": len(full_plan), "max_tokens": full.max_tokens, "langs": list(full.langs),
                 "estimated_s": round(full_estimate), "estimated_from": f"{args.full_sample} generations"},
        "phases": phases,
        "speedup_runner_over_plain": round(speedup, 2),
        "speedup_llama_server_over_plain": round(
            phases["llama_server"]["probes_per_minute"] / phases["plain_loop"]["probes_per_minute"], 2
        ) if "llama_server" in phases else None,
        "targets": {
            "quick_under_s": TARGET_QUICK_S, "quick_met": phases["quick_end_to_end"]["wall_s"] < TARGET_QUICK_S,
            "full_under_s": TARGET_FULL_S,
            "full_met": (phases.get("full_end_to_end", {}).get("wall_s") or full_estimate) < TARGET_FULL_S,
            "speedup_at_least": TARGET_SPEEDUP, "speedup_met": speedup >= TARGET_SPEEDUP,
        },
    }
    path = save("audit_throughput", results)
    print_table(results)
    print(f"saved {path}")


def sample_config(full: AuditConfig, size: int) -> AuditConfig:
    """A slice of the full audit with its token limit: topics spread over the themes, both languages."""
    topics = [topic.id for topic in load_probe_set().topics if topic.split == "eval"]
    step = max(1, len(topics) // max(1, size // (2 * len(full.langs))))
    chosen = topics[::step][: max(1, size // (2 * len(full.langs)))]
    return AuditConfig.create(topics=chosen, langs=full.langs, baselines=0, max_tokens=full.max_tokens)


def print_table(results: dict[str, Any]) -> None:
    phases = results["phases"]
    print(f"\n{'phase':<20}{'generations':>12}{'wall s':>10}{'probes/min':>12}{'tok/s':>9}{'load':>12}")
    for name, phase in phases.items():
        per_minute = phase.get("probes_per_minute", round(phase["generations"] / phase["wall_s"] * 60, 2))
        tokens = round(phase["completion_tokens"] / phase["wall_s"], 1)
        print(f"{name:<20}{phase['generations']:>12}{phase['wall_s']:>10}{per_minute:>12}{tokens:>9}"
              f"{phase['load_before']:>6}->{phase['load_after']:<5}")
    targets = results["targets"]
    print(f"\nrunner / plain loop: {results['speedup_runner_over_plain']}x (target {TARGET_SPEEDUP}x: "
          f"{'met' if targets['speedup_met'] else 'NOT met'})")
    if results["speedup_llama_server_over_plain"] is not None:
        print(f"llama-server ({phases['llama_server']['slots']} slots) / plain loop: "
              f"{results['speedup_llama_server_over_plain']}x (the same prompts, for reference)")
    print(f"--quick end to end: {phases['quick_end_to_end']['wall_s']} s (target {TARGET_QUICK_S} s: "
          f"{'met' if targets['quick_met'] else 'NOT met'})")
    full = phases.get("full_end_to_end", {}).get("wall_s") or results["full"]["estimated_s"]
    kind = "measured" if "full_end_to_end" in phases else "estimated"
    print(f"full audit ({results['full']['generations']} generations): {full} s {kind} (target {TARGET_FULL_S} s: "
          f"{'met' if targets['full_met'] else 'NOT met'})")
    print(f"generate_batch uses the batch scheduler: {results['engine_generate_batch_uses_batch_scheduler']}")


if __name__ == "__main__":
    main()
