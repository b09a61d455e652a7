"""Options that several verbs share, declared once so their names, bounds and help agree."""

from __future__ import annotations

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
