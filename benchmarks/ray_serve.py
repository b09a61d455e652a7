"""`uptake serve --ray` (Ray Serve, two replicas) vs plain `uptake serve`, same model, same total slots and CPUs.

    .venv/bin/python benchmarks/ray_serve.py [--model M] [--clients 8] [--requests-per-client 2] [--max-tokens 64]
        [--no-stream] [--repeats N]

Plain: one server, 8 sequences, 2 threads. ray-2x1: a Ray instance on this machine, 2 replicas of 1 CPU (one
thread) and 4 sequences each, behind Ray Serve's proxy. ray-1x2: one replica of 2 CPUs and 8 sequences, which
isolates what Ray Serve itself costs from what splitting one machine into two engines costs (each engine then
reads the weights for its own decode steps: on a memory-bound CPU that is twice the traffic per token).
The load generator and its figures are serve_throughput.py's (streamed greedy answers, output tokens over the
wall time). Target: Ray ≥ 0.9× plain. The default model's results go to ray_serve.json, another model's to
ray_serve-MODEL.json (a model small enough for the CPU's caches shows the split without the memory traffic);
--no-stream asks for whole answers (one message through Ray Serve's proxy per request, not one per token) and
adds "-whole" to the name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import free_port, load, save, settle
from serve_throughput import measure, running

MODEL = "qwen2.5-coder:0.5b"
UPTAKE = str(Path(sys.executable).with_name("uptake"))


SERVERS = ("plain", "ray-2x1", "ray-1x2")


def command(kind: str, port: int, clients: int, model: str = MODEL) -> list[str]:
    base = [UPTAKE, "serve", model, "--port", str(port), "--ctx", "512", "--log-level", "warning"]
    if kind == "plain":
        return [*base, "--parallel", str(clients), "--threads", "2"]
    if kind == "ray-1x2":
        return [*base, "--ray", "--replicas", "1", "--cpus-per-replica", "2", "--parallel", str(clients)]
    return [*base, "--ray", "--replicas", "2", "--cpus-per-replica", "1", "--parallel", str(clients // 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests-per-client", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--no-stream", action="store_true")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of the three servers, interleaved")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    settle(1.0, 120)
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="uptake-ray-serve-") as logs:
        for _ in range(args.repeats):  # interleaved, so a slow spell of the machine falls on every server
            results: dict[str, Any] = {}
            for kind in SERVERS:
                port = free_port()
                with running(command(kind, port, args.clients, args.model), port, Path(logs) / f"{kind}.log") as url:
                    figures = asyncio.run(measure(url, args.model, args.clients, args.requests_per_client,
                                                  args.max_tokens, not args.no_stream))
                results[kind] = {**figures, "load": load()}
            rounds.append(results)
    per_round = [{kind: round(r[kind]["tokens_per_second"] / r["plain"]["tokens_per_second"], 3)
                  for kind in SERVERS[1:]} for r in rounds]
    ratios = {kind: float(statistics.median(r[kind] for r in per_round)) for kind in SERVERS[1:]}
    print(f"{args.model}: {args.clients} clients × {args.requests_per_client} requests, {args.max_tokens} tokens "
          f"each, {'whole answers' if args.no_stream else 'streamed'}, {args.repeats} round(s)")
    print(f"{'server':<10}{'tok/s (median)':>16}{'TTFT p50':>10}{'TTFT p95':>10}")
    for kind in SERVERS:
        rows = [r[kind] for r in rounds]
        print(f"{kind:<10}{statistics.median(r['tokens_per_second'] for r in rows):>16.1f}"
              f"{statistics.median(r['ttft_p50_s'] for r in rows):>10.2f}"
              f"{statistics.median(r['ttft_p95_s'] for r in rows):>10.2f}")
    for kind, ratio in ratios.items():
        print(f"{kind} / plain throughput: median {ratio:.3f} over rounds {[r[kind] for r in per_round]} "
              "(target ≥ 0.9)")
    name = "ray_serve" if args.model == MODEL else f"ray_serve-{args.model.replace(':', '-')}"
    name += "-whole" if args.no_stream else ""
    path = save(name, {"settings": vars(args), "rounds": rounds, "over_plain_per_round": per_round,
                       "over_plain": ratios, "within_target": {kind: ratio >= 0.9 for kind, ratio in ratios.items()}})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
