"""Choosing where batch work runs (`--backend local|http|ray`), shared by `task run` and `audit censorship`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from uptake.cli.options import Backend
from uptake.cli.output import resolve_with_progress
from uptake.errors import UsageError
from uptake.executors.ray import RayExecutor, RayOptions, replicas_of
from uptake.settings import get_settings

DEFAULT_REPLICAS = 2


def backend_for(given: Backend | None, endpoint: str | None, recorded: dict[str, Any] | None = None) -> Backend:
    """The backend asked for; else the one a resumed run used; else http with --endpoint, local without."""
    if given is Backend.http and endpoint is None:
        raise UsageError("--backend http needs --endpoint URL (an OpenAI-compatible server).")
    if given is not None and given is not Backend.http and endpoint is not None:
        raise UsageError(f"--endpoint goes with --backend http, not --backend {given.value}; drop one of them.")
    if given is not None:
        return given
    if (recorded or {}).get("kind") == Backend.ray.value:
        return Backend.ray
    return Backend.http if endpoint is not None else Backend.local


def ray_options(address: str | None, replicas: int | None, cpus_per_replica: int | None,
                recorded: dict[str, Any] | None, *, parallel: int, context_size: int) -> RayOptions:
    """Ray settings from the flags, else from the resumed run's record, else the defaults."""
    previous = recorded if recorded is not None and recorded.get("kind") == Backend.ray.value else {}
    return RayOptions(
        address=address or previous.get("address"),
        replicas=replicas or previous.get("replicas") or DEFAULT_REPLICAS,
        cpus_per_replica=cpus_per_replica or previous.get("cpus_per_replica") or 1,
        parallel=previous.get("parallel") or parallel,
        context_size=previous.get("context_size") or context_size,
    )


def refuse_ray_flags(backend: Backend, address: str | None, replicas: int | None, cpus: int | None) -> None:
    given = [name for name, value in (("--address", address), ("--replicas", replicas),
                                      ("--cpus-per-replica", cpus)) if value is not None]
    if given and backend is not Backend.ray:
        raise UsageError(f"{', '.join(given)} go(es) with --backend ray.")


@contextmanager
def ray_executor(model: str | None, options: RayOptions, quiet: bool) -> Iterator[tuple[RayExecutor, dict[str, Any]]]:
    """Replicas of `model` (resolved here, pulled and scanned if need be) on Ray, and the identity a run records."""
    from uptake.provenance import identify_model

    resolved = resolve_with_progress(model or get_settings().default_model, quiet)
    executor = replicas_of(resolved, options)
    try:
        yield executor, identify_model(resolved, model).as_dict()
    finally:
        executor.close()
