"""A built-in task on the default model, on the local engine and on Ray replicas, same machine, same CPUs.

    .venv/bin/python benchmarks/ray_backend.py [--task hotline-triage] [--limit 48] [--repeats 2]

Both runs are the installed `uptake task run --json` in its own process: local with UPTAKE_THREADS=2 (one engine,
16 sequences), ray with `--backend ray --replicas 2 --cpus-per-replica 1` (a Ray instance on this machine,
two engines of one thread and 8 sequences each). Rows/min is the runner's own figure (rows over the time the
rows took, model loading excluded); wall is the whole command, Ray's start and the loading included.
The target: Ray's rows/min within 15% of local's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import load, median, save, settle

UPTAKE = str(Path(sys.executable).with_name("uptake"))
BACKENDS: dict[str, tuple[list[str], dict[str, str]]] = {
    "local": ([], {"UPTAKE_THREADS": "2", "UPTAKE_PARALLEL": "16"}),
    "ray": (["--backend", "ray", "--replicas", "2", "--cpus-per-replica", "1"], {"UPTAKE_PARALLEL": "8"}),
}


def run(task: str, limit: int, backend: str) -> dict[str, Any]:
    flags, extra_env = BACKENDS[backend]
    with tempfile.TemporaryDirectory(prefix="uptake-ray-bench-") as out:
        env = {**os.environ, **extra_env, "RAY_USAGE_STATS_ENABLED": "0"}
        started = time.perf_counter()
        done = subprocess.run([UPTAKE, "task", "run", task, "--limit", str(limit), "--json", "--out", out, *flags],
                              capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - started
    if done.returncode not in (0, 4):
        raise SystemExit(f"{backend}: exit {done.returncode}: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    return {"backend": backend, "rows_per_minute": summary["speed"]["rows_per_minute"], "wall_s": round(wall, 1),
            "rows": summary["counts"]["done"], "errors": summary["counts"]["error"],
            "valid_rate": summary["validity"]["rate"], "load": load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="hotline-triage")
    parser.add_argument("--limit", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    settle(1.0, 120)
    runs = [run(args.task, args.limit, backend) for _ in range(args.repeats) for backend in BACKENDS]
    table = {}
    for backend in BACKENDS:
        mine = [r for r in runs if r["backend"] == backend]
        table[backend] = {"rows_per_minute": round(median([r["rows_per_minute"] for r in mine]), 1),
                          "wall_s": round(median([r["wall_s"] for r in mine]), 1)}
    ratio = table["ray"]["rows_per_minute"] / table["local"]["rows_per_minute"]
    print(f"{args.task}, {args.limit} rows, median of {args.repeats}")
    print(f"{'backend':<8}{'rows/min':>10}{'wall s':>9}")
    for backend, row in table.items():
        print(f"{backend:<8}{row['rows_per_minute']:>10.1f}{row['wall_s']:>9.1f}")
    print(f"ray / local rows/min: {ratio:.3f} (target ≥ 0.85)")
    path = save("ray_backend", {"settings": vars(args), "runs": runs, "table": table,
                                "ray_over_local": round(ratio, 3), "within_target": ratio >= 0.85})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
