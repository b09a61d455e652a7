"""Options that several verbs share, declared once so their names, bounds and help agree."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ContextOption = Annotated[int | None, typer.Option("--ctx", min=64, help="Context size in tokens.")]
ThreadsOption = Annotated[int | None, typer.Option("--threads", min=1, help="CPU threads (default: physical cores).")]
SeedOption = Annotated[int | None, typer.Option("--seed", help="Sampling seed, for repeatable output.")]
SystemOption = Annotated[str | None, typer.Option("--system", help="System prompt.")]
TemperatureOption = Annotated[float, typer.Option("--temperature", min=0.0, max=5.0)]
AdapterOption = Annotated[
    str | None,
    typer.Option("--adapter", help="A LoRA adapter to apply: a store name (uptake control list) or an adapter file; "
                 "the same as naming the model MODEL+ADAPTER."),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Register even a file the artifact scan calls dangerous.")]


class Backend(enum.StrEnum):
    local = "local"
    http = "http"
    ray = "ray"


BackendOption = Annotated[
    Backend | None,
    typer.Option("--backend", help="Where the rows run: local (an engine in this process), http (--endpoint), or "
                 "ray (replicas on a Ray cluster). Default: local, or http with --endpoint."),
]
EndpointOption = Annotated[
    str | None, typer.Option(help="An OpenAI-compatible server to run on instead (e.g. http://127.0.0.1:8080).")
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(envvar=["UPTAKE_ENDPOINT_API_KEY", "UPTAKE_TASK_API_KEY"], help="API key for --endpoint.",
                 show_default=False),
]
ConcurrencyOption = Annotated[int, typer.Option(min=1, max=256, help="Requests in flight with --endpoint.")]
AddressOption = Annotated[
    str | None,
    typer.Option("--address", help="With --backend ray: 'auto' (the cluster 'ray start' began), ray://HOST:PORT, "
                 "or HOST:PORT (default: a Ray instance on this machine)."),
]
ReplicasOption = Annotated[
    int | None, typer.Option("--replicas", min=1, help="With --backend ray: replicas, each with its own engine "
                             "(default: 2).")
]
CpusPerReplicaOption = Annotated[
    int | None, typer.Option("--cpus-per-replica", min=1, help="With --backend ray: CPUs (threads) per replica "
                             "(default: 1).")
]
