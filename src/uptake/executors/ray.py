"""Run requests on a Ray cluster: a pool of actors, each holding one engine with its own continuous batching.

Each replica is a Ray actor that loads the GGUF once, after checking its sha256 against the one the driver
resolved (the store's record); a node whose disk lacks the file looks for it in its own store by hash, and
else pulls it from the catalog through its store, which scans it, and checks the hash again. A model is never
loaded unverified. Requests are the same `GenerationRequest`s the local executor gets, rendered and parsed by
the same code, so rows are identical in schema (and, with one sequence per replica, in text) on every backend.

Faults: replicas are restarted by Ray when their process dies (`max_restarts=-1`) and the requests they held
are sent again (`max_task_retries=-1`); the runner journals a row once, when its answer arrives, so a row
redone after a restart is never written twice. A driver that dies takes its actors with it; `--resume` then
runs the rows the journal lacks.

Why actors behind the executor seam rather than Ray Data's `map_batches`: the task runner and the audit already
stream rows to a journal as each finishes (the checkpoint `--resume` reads) and keep every replica's
scheduler full with many requests in flight; a Ray dataset would batch the rows in blocks and hand them back a
block at a time, which idles replicas at block ends and loses a whole block on a driver crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from uptake.engines.base import Engine, EngineInfo, GenerationRequest, GenerationResult
from uptake.errors import EngineError, UptakeError, UsageError
from uptake.executors.base import Completion
from uptake.extras import require_extra
from uptake.models.resolve import ResolvedAdapter, ResolvedModel

REQUESTS_PER_SEQUENCE = 2  # in flight per replica sequence: one decoding, one queued behind it
# Makes a replica's engine from the verified model and the options; None: llama.cpp (load_engine).
EngineFactory = Callable[[ResolvedModel, "RayOptions"], Engine]


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: a Ray instance on this machine; "auto": the running cluster; ray://...
    replicas: int = 1
    cpus_per_replica: int = 1
    parallel: int = 4  # sequences each replica decodes together
    context_size: int = 2048


class ModelReplica:
    """One engine on one Ray worker (a Ray actor: wrapped with `ray.remote` when the pool starts)."""

    def __init__(self, model: ResolvedModel, sha256: str, options: RayOptions,
                 engine_factory: EngineFactory | None = None) -> None:
        from uptake.executors.local import LocalExecutor

        started = time.perf_counter()
        self.model = verified_copy(model, sha256)
        self.engine = (engine_factory or _llama_engine)(self.model, options)
        self.engine.start()
        self.executor = LocalExecutor(self.engine)
        self.load_s = time.perf_counter() - started

    def describe(self) -> dict[str, Any]:
        import ray

        return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(), "path": str(self.model.path),
                "load_s": round(self.load_s, 3)}

    def counters(self) -> dict[str, int]:
        return self.executor.counters()

    async def complete(self, request: GenerationRequest) -> Completion:
        return await self.executor.complete(request)

    async def generate_batch(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        """The engine's own batch call (the audit's path), off the actor's event loop."""
        return await asyncio.to_thread(self.engine.generate_batch, requests)

    def info(self) -> EngineInfo:
        return self.engine.info


def _llama_engine(model: ResolvedModel, options: RayOptions) -> Engine:
    from uptake.engines.loader import load_engine

    return load_engine(model, context_size=options.context_size, parallel=options.parallel,
                       threads=options.cpus_per_replica)


def verified_copy(model: ResolvedModel, sha256: str) -> ResolvedModel:
    """The model as it is on this node: its file checked against `sha256`, found or pulled if missing; an adapter
    applied on top is checked against the hash the driver resolved too (found in the node's store if missing)."""
    from uptake.models.download import sha256_file

    if model.adapter is not None:
        model = replace(model, adapter=_verified_adapter(model.adapter))
    if model.path.is_file():
        found = sha256_file(model.path)
        if found != sha256:
            raise UptakeError(f"{model.path} on this node has sha256 {found[:12]}, not the run's {sha256[:12]}; "
                              "refusing to load it.")
        return model
    return replace(model, path=_from_node_store(model, sha256))


def _verified_adapter(adapter: ResolvedAdapter) -> ResolvedAdapter:
    from uptake.models.download import sha256_file
    from uptake.models.store import Store

    path = adapter.path if adapter.path.is_file() else Store().blob_path(adapter.sha256)
    if not path.is_file():
        raise UptakeError(f"adapter {adapter.name} is not on this node (neither {adapter.path} nor its store); "
                          "copy it to the same path on every node.")
    found = sha256_file(path)
    if found != adapter.sha256:
        raise UptakeError(f"adapter {adapter.name} on this node has sha256 {found[:12]}, not the run's "
                          f"{adapter.sha256[:12]}; refusing to load it.")
    return replace(adapter, path=path)


def _from_node_store(model: ResolvedModel, sha256: str) -> Path:
    from uptake.models.download import sha256_file
    from uptake.models.pull import pull_model
    from uptake.models.store import Store

    store = Store()
    blob = store.blob_path(sha256)
    if not blob.is_file():
        if model.catalog_entry is None:
            raise UptakeError(f"{model.path} is not on this node and is not a catalog model it could pull; "
                              "copy the file to the same path on every node.")
        pulled, _ = pull_model(store, model.catalog_entry.name)  # verified against the catalog and scanned
        blob = pulled.path
    found = sha256_file(blob)
    if found != sha256:
        raise UptakeError(f"the node's copy of {model.name} has sha256 {found[:12]}, not the run's {sha256[:12]}.")
    return blob


class RayExecutor:
    """The executor seam on a pool of `ModelReplica` actors; requests go to the replica with the fewest in flight."""

    def __init__(self, model: ResolvedModel, sha256: str, options: RayOptions,
                 engine_factory: EngineFactory | None = None) -> None:
        require_extra("ray", "--backend ray", ("ray",))
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        import ray

        self.options = options
        self._started_ray = not ray.is_initialized()
        if self._started_ray:
            try:
                ray.init(address=options.address, log_to_driver=False, include_dashboard=False,
                         configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise UsageError(f"cannot reach the Ray cluster at {options.address}: {error}; start one "
                                 "('ray start --head') or give --address.") from None
        available = ray.cluster_resources().get("CPU", 0)  # type: ignore[no-untyped-call]
        wanted = options.replicas * options.cpus_per_replica
        if wanted > available:
            self._shutdown()
            raise UsageError(f"{options.replicas} replicas of {options.cpus_per_replica} CPUs need {wanted} CPUs; "
                             f"the cluster has {available:g} CPUs. Give fewer --replicas or --cpus-per-replica.")
        actor = ray.remote(ModelReplica).options(
            num_cpus=options.cpus_per_replica, max_restarts=-1, max_task_retries=-1,
            max_concurrency=options.parallel * REQUESTS_PER_SEQUENCE + 4,
        )
        self.replicas: list[Any] = [actor.remote(model, sha256, options, engine_factory)
                                    for _ in range(options.replicas)]
        self._in_flight = [0] * options.replicas
        try:
            self.placement = ray.get([replica.describe.remote() for replica in self.replicas])
        except ray.exceptions.RayError as error:
            self._shutdown()
            raise UptakeError(f"a replica could not load {model.name}: {_cause(error)}") from None
        self.address = ray.get_runtime_context().gcs_address

    @property
    def concurrency(self) -> int:
        return self.options.replicas * self.options.parallel * REQUESTS_PER_SEQUENCE

    def describe(self) -> dict[str, Any]:
        return {"kind": "ray", "endpoint": None, "address": self.options.address, "replicas": self.options.replicas,
                "cpus_per_replica": self.options.cpus_per_replica, "parallel": self.options.parallel,
                "context_size": self.options.context_size,
                "nodes": len({replica["node"] for replica in self.placement})}

    def counters(self) -> dict[str, int]:
        import ray

        totals: dict[str, int] = {}
        try:
            for counts in ray.get([replica.counters.remote() for replica in self.replicas], timeout=30):
                for key, value in counts.items():
                    totals[key] = totals.get(key, 0) + value
        except ray.exceptions.RayError:
            pass  # a replica restarting has lost its counters; the rows are what matters
        return totals

    async def complete(self, request: GenerationRequest) -> Completion:
        import ray

        index = min(range(len(self.replicas)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        started = time.perf_counter()
        try:
            completion: Completion = await self.replicas[index].complete.remote(request)
            return completion
        except ray.exceptions.RayError as error:  # retries exhausted, or the cluster went away: this row fails
            return Completion("", "error", error=f"ray: {_cause(error)}", seconds=time.perf_counter() - started)
        finally:
            self._in_flight[index] -= 1

    @property
    def info(self) -> EngineInfo:
        """The first replica's engine, named as running on Ray, with the sequences of all replicas."""
        import ray

        first: EngineInfo = ray.get(self.replicas[0].info.remote())
        return replace(first, engine=f"ray:{first.engine}", parallel=first.parallel * len(self.replicas))

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """A batch split into one contiguous slice per replica, each run by its engine's own batch call; the
        results in request order. A replica that dies mid-batch is restarted and its slice run again."""
        import ray

        count = len(self.replicas)
        size = -(-len(requests) // count) if requests else 0
        slices = [list(requests[start:start + size]) for start in range(0, len(requests), size or 1)]
        refs = [self.replicas[index % count].generate_batch.remote(part) for index, part in enumerate(slices)]
        try:
            parts: list[list[GenerationResult]] = ray.get(refs)
        except ray.exceptions.RayError as error:
            raise EngineError(f"ray: {_cause(error)}") from None
        return [result for part in parts for result in part]

    async def aclose(self) -> None:
        """The replicas belong to whoever started them (`close`), and stay up for the next run."""

    def close(self) -> None:
        """Stop the replicas, and the Ray instance when this executor started it."""
        self._shutdown()

    def _shutdown(self) -> None:
        import ray

        if not ray.is_initialized():
            return
        for replica in getattr(self, "replicas", []):
            with contextlib.suppress(ray.exceptions.RayError):  # already gone
                ray.kill(replica)
        if self._started_ray:
            ray.shutdown()


def replicas_of(model: ResolvedModel, options: RayOptions) -> RayExecutor:
    """Replicas of a resolved model, checked first: Ray replicas load only a file they can verify by hash."""
    from uptake.provenance import identify_model

    sha256 = identify_model(model).sha256
    if sha256 is None:
        raise UsageError(f"cannot hash {model.path}; Ray replicas load only a file they can verify.")
    return RayExecutor(model, sha256, options)


def _cause(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__
