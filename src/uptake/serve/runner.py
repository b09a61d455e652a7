"""Start a server: resolve what to serve, check the exposure rule, load models behind /health, run uvicorn."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from uptake.errors import UsageError
from uptake.serve.app import create_app
from uptake.serve.auth import LOOPBACK_NAMES, check_exposure, is_loopback
from uptake.serve.registry import ModelRegistry, ModelSpec, ServedModel, load_in_background
from uptake.settings import Settings, get_settings


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    parallel: int = 4
    context_per_sequence: int | None = None  # default: the context size setting
    threads: int | None = None  # default: physical cores
    batch_size: int = 512
    max_waiting: int = 256
    api_keys: tuple[str, ...] = ()
    insecure: bool = False
    log_level: str = "info"
    flash_attention: bool | None = False  # None: the engine decides; off keeps batched greedy text exact
    ui: bool = True  # the web console under /ui
    allowed_hosts: tuple[str, ...] = ()  # Host names accepted besides loopback's own, on a loopback bind


def served_name(source: str) -> str:
    """A GGUF path is served under its file name without '.gguf'; a store name under itself."""
    return Path(source).stem if source.endswith(".gguf") else source


def model_specs(sources: Sequence[str], aliases: Sequence[str]) -> list[ModelSpec]:
    """`aliases` are 'ALIAS=MODEL' strings, MODEL being a served name or a source as given."""
    names = {source: served_name(source) for source in sources}
    extra: dict[str, list[str]] = {source: [] for source in sources}
    for entry in aliases:
        alias, separator, target = entry.partition("=")
        alias, target = alias.strip(), target.strip()
        if not separator or not alias or not target:
            raise UsageError(f"--alias takes ALIAS=MODEL, got '{entry}'.")
        owner = next((s for s in sources if target in (s, names[s])), None)
        if owner is None:
            raise UsageError(
                f"--alias {entry}: '{target}' is not one of the served models ({', '.join(names.values())})."
            )
        extra[owner].append(alias)
    return [ModelSpec(source=s, name=names[s], aliases=tuple(extra[s])) for s in dict.fromkeys(sources)]


def load_served_model(spec: ModelSpec, options: ServeOptions, settings: Settings) -> ServedModel:
    """Load the model with its engine ready for submissions, so a failure shows on /health at once."""
    from uptake.engines.loader import load_engine
    from uptake.models.resolve import resolve_model
    from uptake.provenance import identify_model

    resolved = spec.source if not isinstance(spec.source, str) else resolve_model(spec.source, settings, pull=False)
    identity = identify_model(resolved)  # a bare file is hashed once here, for /v1/models
    engine = load_engine(
        resolved,
        settings,
        context_size=options.context_per_sequence or settings.context_size,
        threads=options.threads,
        parallel=options.parallel,
        batch_size=options.batch_size,
        max_waiting=options.max_waiting,
        flash_attention=options.flash_attention,
    )
    try:
        engine.start()
    except BaseException:
        engine.close()
        raise
    return ServedModel(name=spec.name, engine=engine, aliases=spec.aliases, sha256=identity.sha256,
                       adapter_sha256=identity.adapter_sha256)


def run_server(specs: Sequence[ModelSpec], options: ServeOptions, settings: Settings | None = None) -> None:
    """Serve until interrupted. Returns after a clean shutdown; models are closed on the way out."""
    import uvicorn

    check_exposure(options.host, options.api_keys, options.insecure)
    if not specs:
        raise UsageError("no model to serve; name at least one (e.g. 'uptake serve qwen2.5-coder:0.5b').")
    settings = settings or get_settings()
    models = ModelRegistry()
    trusted = (*LOOPBACK_NAMES, *options.allowed_hosts) if is_loopback(options.host) else None
    app = create_app(models, api_keys=options.api_keys, ui=options.ui, settings=settings, trusted_hosts=trusted)
    # Loading silences llama.cpp's C logs by pointing fd 2 at /dev/null for a moment, on the loader's
    # thread; the server's own log must not fall into that hole, so it writes to a copy of fd 2.
    server_log = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    saved_stderr, sys.stderr = sys.stderr, server_log
    loader = load_in_background(models, specs, lambda spec: load_served_model(spec, options, settings))
    if options.ui:
        shown = f"[{options.host}]" if ":" in options.host else options.host
        print(f"web console: http://{shown}:{options.port}/ui/", file=server_log)
    try:
        uvicorn.run(app, host=options.host, port=options.port, log_level=options.log_level, timeout_graceful_shutdown=5)
    finally:
        sys.stderr = saved_stderr
        server_log.close()
        loader.join()
        models.close()
