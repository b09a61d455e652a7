"""`uptake serve`: an OpenAI-compatible API for one or more models, with continuous batching."""

from __future__ import annotations

import enum
import re
import socket
from dataclasses import replace
from typing import Annotated

import typer

from uptake.cli.options import AddressOption, CpusPerReplicaOption, ReplicasOption
from uptake.errors import UsageError
from uptake.extras import require_extra
from uptake.settings import get_settings


class FlashAttention(enum.StrEnum):
    on = "on"
    off = "off"
    auto = "auto"


def serve(
    models: Annotated[
        list[str] | None,
        typer.Argument(metavar="MODEL", help="Store names or GGUF paths (default: the default model)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind. Anything but loopback needs --api-key.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    parallel: Annotated[int, typer.Option(min=1, help="Sequences decoded together per model.")] = 4,
    ctx: Annotated[
        int | None, typer.Option("--ctx", min=64, help="Context per sequence, in tokens (default: the setting).")
    ] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="CPU threads (default: physical cores).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Most tokens in one forward pass.")] = 512,
    queue: Annotated[int, typer.Option(min=1, help="Requests that may wait for a sequence before 503s.")] = 256,
    api_key: Annotated[
        list[str] | None, typer.Option("--api-key", help="Accepted bearer key (repeatable; also UPTAKE_API_KEYS).")
    ] = None,
    alias: Annotated[
        list[str] | None, typer.Option(help="ALIAS=MODEL: another name requests may use (repeatable).")
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow a non-loopback address without an API key.")
    ] = False,
    flash_attention: Annotated[
        FlashAttention,
        typer.Option(
            help="Flash attention: faster on some hardware, but then a request's greedy text can depend on "
            "what else is in the batch."
        ),
    ] = FlashAttention.off,
    log_level: Annotated[str, typer.Option(help="Server log level.")] = "info",
    ui: Annotated[
        bool, typer.Option("--ui/--no-ui", help="Serve the web console under /ui (behind the API key when one is set).")
    ] = True,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", help="On a loopback bind, a Host name to answer besides localhost and "
                     "127.0.0.1, e.g. a reverse proxy's (repeatable); others get 400, as a guard against DNS "
                     "rebinding."),
    ] = None,
    on_ray: Annotated[
        bool, typer.Option("--ray", help="Serve through Ray Serve: --replicas copies of the app, each with its own "
                           "engines, behind one endpoint.")
    ] = False,
    address: AddressOption = None,
    replicas: ReplicasOption = None,
    cpus_per_replica: CpusPerReplicaOption = None,
    min_replicas: Annotated[
        int | None, typer.Option("--min-replicas", min=1, help="With --ray: let Ray Serve autoscale from this many.")
    ] = None,
    max_replicas: Annotated[
        int | None, typer.Option("--max-replicas", min=1, help="With --ray: ... up to this many replicas.")
    ] = None,
    adapter: Annotated[
        list[str] | None,
        typer.Option("--adapter", help="Also serve each model with this LoRA adapter, as MODEL+ADAPTER (repeatable): "
                     "requests choose base or adapter by model name."),
    ] = None,
) -> None:
    """Serve models over HTTP with the OpenAI API (chat, completions, embeddings, models)."""
    require_extra("serve", "uptake serve")
    from uptake.cli.output import resolve_with_progress
    from uptake.models.resolve import with_adapter
    from uptake.serve.auth import api_keys_from, check_exposure
    from uptake.serve.runner import ServeOptions, model_specs, run_server

    settings = get_settings()
    options = ServeOptions(
        host=host,
        port=port,
        parallel=parallel,
        context_per_sequence=ctx,
        threads=threads,
        batch_size=batch_size,
        max_waiting=queue,
        api_keys=api_keys_from(api_key or []),
        insecure=insecure,
        log_level=log_level,
        flash_attention={"on": True, "off": False, "auto": None}[flash_attention.value],
        ui=ui,
        allowed_hosts=allowed_hosts(allow_host or []),
    )
    check_exposure(options.host, options.api_keys, options.insecure)
    ray_flags = {"--address": address, "--replicas": replicas, "--cpus-per-replica": cpus_per_replica,
                 "--min-replicas": min_replicas, "--max-replicas": max_replicas}
    stray = [name for name, value in ray_flags.items() if value is not None]
    if stray and not on_ray:
        raise UsageError(f"{', '.join(stray)} go(es) with --ray.")
    bases = models or [settings.default_model]
    sources = [*bases, *(with_adapter(base, name) for name in adapter or [] for base in bases)]
    # Resolved once, here: an unknown model fails before the server starts, and a catalog model is
    # pulled (and scanned) first.
    specs = [replace(spec, source=resolve_with_progress(str(spec.source), quiet=False))
             for spec in model_specs(sources, alias or [])]
    check_port_free(options.host, options.port)
    if not on_ray:
        run_server(specs, options, settings)
        return
    from uptake.provenance import identify_model
    from uptake.serve.ray_serve import RayServeOptions, run_ray_server

    hashes = [identify_model(spec.source).sha256 or "" for spec in specs]  # type: ignore[arg-type]
    chosen = RayServeOptions(address=address, replicas=replicas or 2, cpus_per_replica=cpus_per_replica or 1,
                             min_replicas=min_replicas, max_replicas=max_replicas)
    run_ray_server(specs, hashes, replace(options, threads=chosen.cpus_per_replica), settings, chosen)


HOST_NAME = re.compile(r"^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$|^\[[0-9a-f:.]+\]$")


def allowed_hosts(names: list[str]) -> tuple[str, ...]:
    """--allow-host names, checked: a host name (or *.domain, or [IPv6]), without scheme, port or path."""
    hosts = tuple(name.strip().lower() for name in names)
    for host in hosts:
        if not HOST_NAME.match(host):
            raise UsageError(
                f"--allow-host takes a host name such as proxy.example.org or *.example.org, got '{host}' "
                "(no scheme, port or path)."
            )
    return hosts


def check_port_free(host: str, port: int) -> None:
    """A taken port is a one-line error before anything loads, not a log trace from the server."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UsageError(f"cannot bind to '{host}': {error.strerror}; give an address or host name.") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise UsageError(
                f"cannot listen on {host}:{port}: {error.strerror}; choose another --port or stop what uses it."
            ) from None
