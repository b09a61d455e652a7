"""The two Ray routes for batch rows, measured on the same rows: the actor pool `--backend ray` uses (each row
sent to a replica as the runner needs it, journaled as it returns) vs Ray Data's `map_batches` over an actor
pool (rows in blocks; each block's answers come back together).

    .venv/bin/python benchmarks/ray_data_route.py [--task hotline-triage] [--limit 48] [--batch-size 16]

Same model, same two replicas of one CPU and 8 sequences each, same requests (the runner's `request_for`), a Ray
instance on this machine. The Ray Data route is measured here only; uptake does not ship it (see
docs/scale-out.md for why the actor pool was chosen).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from _common import load, save, settle

PARALLEL = 8
REPLICAS = 2


class BatchReplica:
    """One engine per Ray Data actor; a block of rows decoded together through the engine's scheduler."""

    def __init__(self, model_name: str) -> None:
        from uptake.engines.loader import load_engine
        from uptake.executors.local import LocalExecutor
        from uptake.models.resolve import resolve_model

        self.engine = load_engine(resolve_model(model_name), context_size=2048, parallel=PARALLEL, threads=1)
        self.engine.start()
        self.executor = LocalExecutor(self.engine)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import pickle

        requests = [pickle.loads(item) for item in batch["request"]]

        async def run() -> list[Any]:
            return list(await asyncio.gather(*(self.executor.complete(request) for request in requests)))

        completions = asyncio.run(run())
        return {"id": batch["id"], "completion": [pickle.dumps(item) for item in completions]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="hotline-triage")
    parser.add_argument("--limit", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import pickle

    import ray

    from uptake.apply.builtin import task_path
    from uptake.apply.prompts import request_for
    from uptake.apply.runner import RunOptions, load_rows
    from uptake.apply.taskfile import load_task
    from uptake.executors.ray import RayOptions, replicas_of
    from uptake.models.resolve import resolve_model
    from uptake.settings import get_settings

    settle(1.0, 120)
    task = load_task(task_path(args.task))
    rows, _ = load_rows(task, RunOptions(limit=args.limit))
    requests = [request_for(task, row, logprobs=task.spec.abstention is not None) for row in rows]
    model = get_settings().default_model
    ray.init(num_cpus=REPLICAS, include_dashboard=False, log_to_driver=False, configure_logging=False)
    results: dict[str, Any] = {}
    try:
        executor = replicas_of(resolve_model(model), RayOptions(replicas=REPLICAS, parallel=PARALLEL))
        started = time.perf_counter()

        async def actors() -> list[Any]:
            gate = asyncio.Semaphore(executor.concurrency)

            async def one(request: Any) -> Any:
                async with gate:
                    return await executor.complete(request)

            return list(await asyncio.gather(*(one(request) for request in requests)))

        done = asyncio.run(actors())
        wall = time.perf_counter() - started
        executor.close()
        results["actor pool (--backend ray)"] = {"rows_per_minute": round(len(done) / wall * 60, 1),
                                                 "errors": sum(c.error is not None for c in done), "load": load()}
        if not ray.is_initialized():
            ray.init(num_cpus=REPLICAS, include_dashboard=False, log_to_driver=False, configure_logging=False)
        items = [{"id": row.id, "request": pickle.dumps(request)} for row, request in zip(rows, requests, strict=True)]
        dataset = ray.data.from_items(items).map_batches(
            BatchReplica, fn_constructor_args=(model,), batch_size=args.batch_size, concurrency=REPLICAS,
            num_cpus=1,
        )
        started = time.perf_counter()
        answered = 0
        errors = 0
        for batch in dataset.iter_batches(batch_size=None):
            completions = [pickle.loads(item) for item in batch["completion"]]
            answered += len(completions)
            errors += sum(c.error is not None for c in completions)
        wall = time.perf_counter() - started
        results["Ray Data map_batches"] = {"rows_per_minute": round(answered / wall * 60, 1), "errors": errors,
                                           "rows": answered, "load": load()}
    finally:
        ray.shutdown()
    print(f"{args.task}, {args.limit} rows, {REPLICAS} replicas × 1 CPU × {PARALLEL} sequences; "
          f"Ray Data batch size {args.batch_size}")
    for route, row in results.items():
        print(f"{route:<30}{row['rows_per_minute']:>8.1f} rows/min  errors {row['errors']}")
    save("ray_data_route", {"settings": vars(args), "results": results})


if __name__ == "__main__":
    main()
