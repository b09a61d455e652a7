"""`uptake serve --ray`: the same FastAPI app as Ray Serve replicas behind one endpoint.

Each replica builds the app `uptake serve` runs (create_app) around engines of its own, loaded in the replica
(the file checked against the driver's sha256 first, as the Ray executor's replicas do); Ray Serve's proxy
spreads requests over the replicas and scales them within --min-replicas/--max-replicas when those are given
(its autoscaler, target: one request per sequence). /health and /metrics answer for the replica a request
reaches; each answer names it in an `x-uptake-replica` header.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from uptake.errors import UsageError
from uptake.extras import require_extra
from uptake.serve.registry import ModelSpec


@dataclass(frozen=True)
class RayServeOptions:
    address: str | None = None
    replicas: int = 2
    cpus_per_replica: int = 1
    min_replicas: int | None = None  # with max_replicas: Ray Serve's autoscaler decides between them
    max_replicas: int | None = None


def build_replica_app(specs: Sequence[ModelSpec], hashes: Sequence[str], options: Any, settings: Any) -> Any:
    """The ASGI app of one replica: its own engines, loading behind /health, the replica named on answers."""
    from uptake.executors.ray import verified_copy
    from uptake.models.resolve import ResolvedModel
    from uptake.serve.app import create_app
    from uptake.serve.registry import ModelRegistry, load_in_background
    from uptake.serve.runner import load_served_model

    models = ModelRegistry()
    app = create_app(models, api_keys=options.api_keys, ui=options.ui, settings=settings)
    replica = f"{os.uname().nodename}:{os.getpid()}"

    @app.middleware("http")
    async def name_the_replica(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-uptake-replica"] = replica
        return response

    def load(spec: ModelSpec) -> Any:
        source = spec.source
        if isinstance(source, ResolvedModel):
            source = verified_copy(source, hashes[[s.name for s in specs].index(spec.name)])
        return load_served_model(replace(spec, source=source), options, settings)

    load_in_background(models, specs, load)
    return app


def run_ray_server(specs: Sequence[ModelSpec], hashes: Sequence[str], options: Any, settings: Any,
                   ray_options: RayServeOptions) -> None:
    """Deploy the replicas, serve on options.host:options.port through Ray Serve's proxy, stop on Ctrl-C."""
    require_extra("ray", "uptake serve --ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray import serve

    started_ray = not ray.is_initialized()
    if started_ray:
        try:
            ray.init(address=ray_options.address, log_to_driver=False, include_dashboard=False,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise UsageError(f"cannot reach the Ray cluster at {ray_options.address}: {error}.") from None
    autoscaling = None
    if ray_options.min_replicas is not None or ray_options.max_replicas is not None:
        autoscaling = {"min_replicas": ray_options.min_replicas or 1,
                       "max_replicas": ray_options.max_replicas or max(ray_options.replicas, 1),
                       "initial_replicas": ray_options.replicas,
                       "target_ongoing_requests": options.parallel}
    specs, hashes = list(specs), list(hashes)

    def builder() -> Any:  # Ray Serve calls a builder of no arguments on each replica
        return build_replica_app(specs, hashes, options, settings)

    deployment: Any = serve.deployment(
        serve.ingress(builder)(type("UptakeReplica", (), {})),
        name="uptake",
        num_replicas=None if autoscaling else ray_options.replicas,
        autoscaling_config=autoscaling,
        ray_actor_options={"num_cpus": ray_options.cpus_per_replica},
        # A replica takes as many requests as it has sequences; the rest wait at the proxy for a free one, so
        # load spreads over replicas instead of queueing behind one.
        max_ongoing_requests=options.parallel,
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        serve.start(proxy_location="HeadOnly", http_options={"host": options.host, "port": options.port})
        serve.run(deployment.bind(), name="uptake", route_prefix="/", blocking=False)
        print(f"serving on http://{options.host}:{options.port} through Ray Serve "
              f"({ray_options.replicas} replicas)", flush=True)
        stop.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        serve.shutdown()  # type: ignore[no-untyped-call]
        if started_ray:
            ray.shutdown()
