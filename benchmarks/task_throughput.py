"""Rows per minute of `uptake task run` against a plain llama_cpp.Llama loop and llama.cpp's own server.

    .venv/bin/python benchmarks/task_throughput.py [--task NAME|PATH] [--rows N] [--model NAME] [--threads N]
        [--llama-server PATH|build] [--slots 4,8,16] [--skip-plain]

The same rows (`--rows`, taken in turn from each language as `uptake task run --limit N` takes them; rows
the input marks malformed are left out, as the runner leaves them out), the same model file, threads,
token limit (the task's output.max_tokens) and greedy sampling, one phase after the other:

1. uptake: `uptake.apply.runner.execute` with a LocalExecutor over the engine loaded as `uptake task run`
   loads it (context 2048 per sequence, 16 parallel), the output schema as a grammar; the engine's
   prefix reuse (`stats().reused_prompt_tokens`) is recorded;
2. plain_loop: the same conversations one at a time through `Llama.create_chat_completion` with
   `response_format` json_object + schema (llama-cpp-python reuses the previous prompt's KV prefix, as
   any user's loop gets);
3. llama_server (with --llama-server, a binary or "build"): llama.cpp's server with `-np SLOTS
   -c SLOTS*2048`, SLOTS requests in flight, `response_format` json_schema; each of --slots, and the best;
4. unconstrained: phase 1 again without the grammar, to measure what the grammar buys in validity.

Every phase's answers are classified with `uptake.apply.rows.check_output`. Targets: uptake at least
2.5x the plain loop, at least as fast as the best llama-server, and every answer valid with the grammar.
The machine's load average is recorded around each phase: other work on a small machine skews every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from _common import load, save, settle

from uptake.apply.builtin import task_path
from uptake.apply.data import InputRow
from uptake.apply.prompts import request_for
from uptake.apply.rows import check_output
from uptake.apply.runner import RunOptions, create_run, execute, load_rows
from uptake.apply.spec import Task
from uptake.apply.taskfile import load_task
from uptake.cli.task import TASK_CONTEXT, TASK_PARALLEL
from uptake.errors import UsageError
from uptake.models.catalog import load_catalog
from uptake.models.resolve import ResolvedModel, resolve_model
from uptake.settings import get_settings

TARGET_OVER_PLAIN = 2.5
TARGET_OVER_SERVER = 1.0
TARGET_VALID_WITH_GRAMMAR = 1.0


def chosen_rows(task: Task, count: int) -> list[InputRow]:
    """The rows `uptake task run --limit count` runs: taken in turn from each language, malformed ones aside."""
    selected, _ = load_rows(task, RunOptions(limit=count))
    return [row for row in selected if row.error is None]


def engine_options(threads: int) -> dict[str, Any]:
    """The engine as `uptake task run` loads it (cli/task.py's `_executor`), with these threads."""
    settings = get_settings()
    chosen = settings.model_fields_set
    return {
        "context_size": settings.context_size if "context_size" in chosen else TASK_CONTEXT,
        "parallel": settings.parallel if "parallel" in chosen else TASK_PARALLEL,
        "threads": threads,
    }


def validity(task: Task, answers: list[tuple[str, str]]) -> dict[str, Any]:
    """(text, finish reason) per answer, checked against the schema; errors (no answer at all) apart, as the
    run summary's validity leaves them apart."""
    checked = [(text, reason) for text, reason in answers if reason != "error"]
    valid = sum(check_output(task, text, reason)[0] is not None for text, reason in checked)
    return {"valid": valid, "checked": len(checked), "errors": len(answers) - len(checked),
            "valid_rate": round(valid / len(checked), 4) if checked else None}


def rate(rows: int, tokens: int, wall: float) -> dict[str, Any]:
    return {"rows": rows, "completion_tokens": tokens, "wall_s": round(wall, 2),
            "rows_per_minute": round(rows / wall * 60, 2), "tokens_per_second": round(tokens / wall, 2)}


def uptake_run(task: Task, model: ResolvedModel, rows: int, threads: int, home: Path, *,
               constrained: bool) -> dict[str, Any]:
    """The rows through the runner exactly as `uptake task run --limit rows [--no-grammar]` runs them."""
    from uptake.engines.loader import load_engine
    from uptake.executors.local import LocalExecutor
    from uptake.provenance import identify_model

    options = RunOptions(limit=rows, constrained=constrained)
    engine = load_engine(model, get_settings(), **engine_options(threads))
    try:
        engine.start()
        executor = LocalExecutor(engine)
        folder, settings = create_run(task, options, executor.describe(), identify_model(model, model.name).as_dict(),
                                      command="benchmark", home=home)
        reused_before = engine.stats().reused_prompt_tokens
        outcome = execute(task, folder, settings, executor)
        reused = engine.stats().reused_prompt_tokens - reused_before
    finally:
        engine.close()
    wanted = {item.id for item in chosen_rows(task, rows)}  # the malformed rows' error rows aside
    ran = [row for row in outcome.rows if row["id"] in wanted]
    answers = [(row["raw"], "error" if row["status"] == "error" else "stop") for row in ran]
    prompt_tokens = sum(int(row["prompt_tokens"]) for row in ran)
    return {**rate(outcome.generated, sum(int(row["completion_tokens"]) for row in ran), outcome.wall_s),
            "prompt_tokens": prompt_tokens, "reused_prompt_tokens": reused,
            "reused_share": round(reused / prompt_tokens, 3) if prompt_tokens else None,
            "statuses": {status: sum(row["status"] == status for row in ran)
                         for status in ("ok", "review", "invalid", "error")},
            "validity": validity(task, answers), "constrained": constrained,
            "logprobs": task.spec.abstention is not None}


def plain_loop(task: Task, model: ResolvedModel, rows: list[InputRow], threads: int) -> dict[str, Any]:
    """The reference: the same conversations one at a time through llama-cpp-python's chat API, the schema
    as its grammar. Run after the runner, not beside it."""
    from llama_cpp import Llama

    llm = Llama(str(model.path), n_ctx=TASK_CONTEXT, n_threads=threads, n_threads_batch=threads, verbose=False)
    tokens = 0
    answers: list[tuple[str, str]] = []
    started = time.perf_counter()
    for row in rows:
        request = request_for(task, row, logprobs=False)
        messages: list[Any] = [{"role": message.role, "content": message.content} for message in request.all_messages()]
        reply: Any = llm.create_chat_completion(
            messages=messages, response_format={"type": "json_object", "schema": task.schema},
            temperature=0.0, max_tokens=request.max_tokens, seed=request.seed,
        )
        tokens += reply["usage"]["completion_tokens"]
        choice = reply["choices"][0]
        answers.append((choice["message"]["content"] or "", choice["finish_reason"] or "stop"))
    wall = time.perf_counter() - started
    llm.close()
    return {**rate(len(rows), tokens, wall), "validity": validity(task, answers)}


def llama_server(binary: Path, task: Task, model: ResolvedModel, rows: list[InputRow], threads: int,
                 slots: int) -> dict[str, Any]:
    """The same rows through llama-server, `slots` sequences and `slots` requests in flight (its defaults
    otherwise), the schema as response_format json_schema."""
    import httpx
    from serve_throughput import free_port, running

    port = free_port()
    command = [str(binary), "-m", str(model.path), "--host", "127.0.0.1", "--port", str(port), "-t", str(threads),
               "-tb", str(threads), "-np", str(slots), "-c", str(slots * TASK_CONTEXT), "--no-webui"]
    response_format = {"type": "json_schema", "json_schema": {"name": "output", "schema": task.schema, "strict": True}}

    async def ask_all(base_url: str) -> tuple[float, list[tuple[str, str, int]]]:
        gate = asyncio.Semaphore(slots)
        async with httpx.AsyncClient(base_url=base_url, timeout=3600) as http:
            async def ask(row: InputRow) -> tuple[str, str, int]:
                request = request_for(task, row, logprobs=False)
                body: dict[str, Any] = {
                    "messages": [{"role": message.role, "content": message.content}
                                 for message in request.all_messages()],
                    "max_tokens": request.max_tokens, "temperature": 0.0, "response_format": response_format,
                }
                if request.seed is not None:
                    body["seed"] = request.seed
                async with gate:
                    answer = await http.post("/v1/chat/completions", json=body)
                if answer.status_code != 200:
                    return "", "error", 0
                data = answer.json()
                choice = data["choices"][0]
                return (choice["message"].get("content") or "", choice.get("finish_reason") or "stop",
                        int(data["usage"]["completion_tokens"]))

            started = time.perf_counter()
            results = await asyncio.gather(*(ask(row) for row in rows))
            return time.perf_counter() - started, list(results)

    with tempfile.TemporaryDirectory(prefix="task-bench-server-") as logs, \
            running(command, port, Path(logs) / "llama-server.log") as base_url:
        wall, results = asyncio.run(ask_all(base_url))
    answers = [(text, reason) for text, reason, _ in results]
    return {**rate(len(rows), sum(tokens for _, _, tokens in results), wall), "slots": slots,
            "validity": validity(task, answers)}


QUIET = {"max_load": 1.0, "max_wait_s": 600.0}


def timed(measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    before = settle(QUIET["max_load"], QUIET["max_wait_s"])
    return {**measure(), "load_before": before, "load_after": load()}


def ratio(numerator: dict[str, Any] | None, denominator: dict[str, Any] | None) -> float | None:
    if numerator is None or denominator is None:
        return None
    return round(float(numerator["rows_per_minute"]) / float(denominator["rows_per_minute"]), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", default="hotline-triage", help="a built-in task's name, or a task.yaml path")
    parser.add_argument("--rows", type=int, default=96, help="rows to run, taken in turn from each language")
    parser.add_argument("--model", default=load_catalog().default)
    parser.add_argument("--threads", type=int, default=get_settings().threads)
    parser.add_argument("--llama-server", help='a llama-server binary to measure too, or "build" to build one')
    parser.add_argument("--slots", default="4,8,16", help="llama-server slot counts to try, comma-separated")
    parser.add_argument("--skip-plain", action="store_true", help="leave out the plain llama_cpp.Llama loop")
    parser.add_argument("--max-load", type=float, default=1.0, help="wait for the load average to drop below this")
    parser.add_argument("--max-wait", type=float, default=600.0, help="but at most this long (s) before each phase")
    args = parser.parse_args()
    QUIET.update(max_load=args.max_load, max_wait_s=args.max_wait)
    try:
        task = load_task(task_path(args.task))
        rows = chosen_rows(task, args.rows)
    except UsageError as error:
        raise SystemExit(str(error)) from None
    if not rows:
        raise SystemExit(f"task {task.name} has no runnable rows")
    slot_counts = [int(part) for part in args.slots.split(",") if part.strip()]
    model = resolve_model(args.model)
    phases: dict[str, Any] = {}
    server_phases: list[str] = []
    with tempfile.TemporaryDirectory(prefix="task-bench-") as scratch:
        home = Path(scratch)
        phases["uptake"] = timed(
            lambda: uptake_run(task, model, args.rows, args.threads, home / "grammar", constrained=True)
        )
        print("uptake", phases["uptake"], flush=True)
        if not args.skip_plain:
            phases["plain_loop"] = timed(lambda: plain_loop(task, model, rows, args.threads))
            print("plain_loop", phases["plain_loop"], flush=True)
        if args.llama_server:
            from serve_throughput import build_llama_server

            binary = build_llama_server() if args.llama_server == "build" else Path(args.llama_server)
            for slots in slot_counts:
                name = f"llama_server_np{slots}"
                phases[name] = timed(partial(llama_server, binary, task, model, rows, args.threads, slots))
                server_phases.append(name)
                print(name, phases[name], flush=True)
        phases["unconstrained"] = timed(
            lambda: uptake_run(task, model, args.rows, args.threads, home / "free", constrained=False)
        )
    best_server = max(server_phases, key=lambda name: phases[name]["rows_per_minute"], default=None)
    over_plain = ratio(phases["uptake"], phases.get("plain_loop"))
    over_server = ratio(phases["uptake"], phases[best_server] if best_server else None)
    valid_grammar = phases["uptake"]["validity"]["valid_rate"]
    valid_free = phases["unconstrained"]["validity"]["valid_rate"]
    results = {
        "model": model.name, "model_sha256": model.sha256, "threads": args.threads,
        "task": {"name": task.name, "path": str(task.path), "sha256": task.sha256,
                 "max_tokens": task.spec.output.max_tokens, "temperature": task.spec.sampling.temperature},
        "rows": len(rows), "rows_asked": args.rows,
        "languages": sorted({row.language for row in rows}),
        "engine_options": engine_options(args.threads),
        "phases": phases,
        "llama_server_best": None if best_server is None else {
            "phase": best_server, "slots": phases[best_server]["slots"],
            "rows_per_minute": phases[best_server]["rows_per_minute"]},
        "ratios": {"uptake_over_plain": over_plain, "uptake_over_best_llama_server": over_server},
        "validity": {"with_grammar": valid_grammar, "without_grammar": valid_free,
                     "plain_loop": phases.get("plain_loop", {}).get("validity", {}).get("valid_rate"),
                     "best_llama_server": phases[best_server]["validity"]["valid_rate"] if best_server else None},
        "targets": {
            "uptake_over_plain_at_least": TARGET_OVER_PLAIN,
            "uptake_over_plain_met": None if over_plain is None else over_plain >= TARGET_OVER_PLAIN,
            "uptake_over_llama_server_at_least": TARGET_OVER_SERVER,
            "uptake_over_llama_server_met": None if over_server is None else over_server >= TARGET_OVER_SERVER,
            "valid_with_grammar": TARGET_VALID_WITH_GRAMMAR,
            "valid_with_grammar_met": valid_grammar == TARGET_VALID_WITH_GRAMMAR,
        },
    }
    path = save("task_throughput", results)
    print_table(results)
    print(f"saved {path}")


def verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[met]


def print_table(results: dict[str, Any]) -> None:
    phases = results["phases"]
    print(f"\n{'phase':<22}{'rows':>6}{'wall s':>10}{'rows/min':>10}{'tok/s':>9}{'valid':>8}{'load':>14}")
    for name, phase in phases.items():
        valid = phase["validity"]["valid_rate"]
        print(f"{name:<22}{phase['rows']:>6}{phase['wall_s']:>10}{phase['rows_per_minute']:>10}"
              f"{phase['tokens_per_second']:>9}{'—' if valid is None else valid:>8}"
              f"{phase['load_before']:>8}->{phase['load_after']:<5}")
    targets = results["targets"]
    ratios = results["ratios"]
    uptake = phases["uptake"]
    print(f"\ntask {results['task']['name']}, {results['rows']} rows ({', '.join(results['languages'])}), "
          f"{results['model']}, {results['threads']} threads")
    print(f"uptake prefix reuse: {uptake['reused_prompt_tokens']} of {uptake['prompt_tokens']} prompt tokens "
          f"({uptake['reused_share']})")
    print(f"uptake / plain loop: {ratios['uptake_over_plain']}x (target {TARGET_OVER_PLAIN}x: "
          f"{verdict(targets['uptake_over_plain_met'])})")
    best = results["llama_server_best"]
    where = f" ({best['slots']} slots)" if best else ""
    print(f"uptake / best llama-server{where}: {ratios['uptake_over_best_llama_server']}x "
          f"(target {TARGET_OVER_SERVER}x: {verdict(targets['uptake_over_llama_server_met'])})")
    validity = results["validity"]
    print(f"schema-valid with grammar: {validity['with_grammar']} (target {TARGET_VALID_WITH_GRAMMAR}: "
          f"{verdict(targets['valid_with_grammar_met'])}); without: {validity['without_grammar']}")


if __name__ == "__main__":
    main()
