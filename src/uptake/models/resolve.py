"""A model name or a GGUF path becomes a `ResolvedModel` once, here, with the store's policies applied.

Pull on first use (as `ollama run` does) and the artifact scan gate are library policy: every caller
that resolves through this module gets them, whether it is a CLI command, the judge or a benchmark.
Layers below the CLI receive a `ResolvedModel` and never look a name up again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from uptake.errors import UsageError
from uptake.models.catalog import CatalogEntry, load_catalog
from uptake.models.download import Progress
from uptake.models.gguf_meta import is_gguf, read_gguf_metadata
from uptake.models.store import Store
from uptake.settings import Settings, get_settings

ADAPTER_SEPARATOR = "+"


@dataclass(frozen=True)
class ResolvedAdapter:
    """A LoRA adapter checked against the base it is applied to (see `apply_adapter`)."""

    name: str
    path: Path
    sha256: str
    base_sha256: str


@dataclass(frozen=True)
class ResolvedModel:
    """A model file and what is known of it. `sha256` and `trust` are None for a bare file outside the store.
    `adapter`: a LoRA adapter llama.cpp applies on top of the file (the name is then BASE+ADAPTER)."""

    name: str
    path: Path
    metadata: dict[str, Any]
    catalog_entry: CatalogEntry | None
    sha256: str | None
    trust: str | None
    adapter: ResolvedAdapter | None = None

    @property
    def chat_template(self) -> str | None:
        """The file's own template; for a file that carries none, its catalog family's reference template."""
        template = self.metadata.get("chat_template")
        if isinstance(template, str) and template.strip():
            return template
        return self.catalog_entry.reference_template() if self.catalog_entry is not None else None

    @property
    def reference(self) -> str:
        """What resolves to this model again: the store name, or a bare file's absolute path."""
        return self.name if self.sha256 is not None else str(self.path.resolve())

    def file_sha256(self) -> str:
        """The content hash: the store's record, or (for a bare file) computed now."""
        if self.sha256 is not None:
            return self.sha256
        from uptake.models.download import sha256_file

        return sha256_file(self.path)


def is_model_path(name_or_path: str) -> bool:
    """Whether the argument names a GGUF file rather than a store or catalog name."""
    path = Path(name_or_path).expanduser()
    return name_or_path.endswith(".gguf") or (path.is_file() and is_gguf(path))


def has_adapter(name_or_path: str) -> bool:
    """Whether the argument is BASE+ADAPTER (a file whose own name holds '+' is just a file)."""
    return ADAPTER_SEPARATOR in name_or_path and not Path(name_or_path).expanduser().is_file()


def is_known_model(name_or_path: str, settings: Settings | None = None) -> bool:
    """A GGUF path, a model in the store or one in the catalog (which would be pulled on first use)."""
    if has_adapter(name_or_path):
        name_or_path = name_or_path.partition(ADAPTER_SEPARATOR)[0]
    return (
        is_model_path(name_or_path)
        or name_or_path in load_catalog()
        or Store(settings).get(name_or_path) is not None
    )


def resolve_model(
    name_or_path: str,
    settings: Settings | None = None,
    *,
    pull: bool = True,
    progress: Progress | None = None,
    on_pull: Callable[[str], None] | None = None,
) -> ResolvedModel:
    """Resolve once. A catalog model that is not in the store is pulled (scanned first) unless `pull` is False.
    `BASE+ADAPTER` resolves the base, then the adapter (a store name or an adapter file) made for it."""
    settings = settings or get_settings()
    if has_adapter(name_or_path):
        base_name, _, adapter_name = name_or_path.partition(ADAPTER_SEPARATOR)
        base = resolve_model(base_name, settings, pull=pull, progress=progress, on_pull=on_pull)
        return apply_adapter(base, adapter_name, settings)
    given = Path(name_or_path).expanduser()
    if given.is_file() and not is_model_path(name_or_path):
        raise UsageError(f"{given} is not a GGUF file; uptake runs GGUF models (see 'uptake import').")
    if is_model_path(name_or_path):
        path = Path(name_or_path).expanduser()
        return ResolvedModel(path.stem, path, read_gguf_metadata(path).to_dict(), None, None, None)
    store = Store(settings)
    catalog = load_catalog()
    stored = store.get(name_or_path)
    if stored is None and pull and name_or_path in catalog:
        from uptake.models.pull import pull_model
        from uptake.scan.gate import scan_gate

        if on_pull is not None:
            on_pull(name_or_path)
        stored, _ = pull_model(store, name_or_path, progress=progress, gate=scan_gate(force=False))
    if stored is None:
        stored = store.resolve(name_or_path)  # raises the not-found error with suggestions
    entry = catalog.entries.get(stored.name) or catalog.by_sha256(stored.sha256)
    return ResolvedModel(stored.name, stored.path, stored.metadata, entry, stored.sha256, stored.trust)


def with_adapter(name: str, adapter: str | None) -> str:
    """The model name that carries `adapter` (`--adapter NAME` is the same as `MODEL+NAME`)."""
    return name if not adapter else f"{name}{ADAPTER_SEPARATOR}{adapter}"


def apply_adapter(base: ResolvedModel, adapter: str, settings: Settings | None = None) -> ResolvedModel:
    """The base with an adapter on top: a store adapter by name, or an adapter file with uptake's lineage.
    Refused when the adapter was made for another base (by sha256) or its scan found it dangerous."""
    from uptake.control.lora import adapter_lineage  # control builds on models/, loaded only when asked for
    from uptake.models.store import AdapterStore

    if base.adapter is not None:
        raise UsageError(f"{base.name} already has an adapter; uptake applies one adapter at a time.")
    store = Store(settings)
    given = Path(adapter).expanduser()
    if given.is_file():
        from uptake.models.download import sha256_file

        lineage = adapter_lineage(given)
        made_for = str(lineage.get("base", {}).get("sha256") or "")
        if not made_for:
            raise UsageError(
                f"{given} records no base model (uptake.lineage); uptake applies only adapters whose base it can check."
            )
        name, path, sha256 = given.stem, given, sha256_file(given)
        from uptake.scan.gate import scan_gate

        scan_gate(force=False)(given, None, sha256)
    else:
        stored = AdapterStore(store).resolve(adapter)
        name, path, sha256, made_for = stored.name, stored.path, stored.sha256, stored.base_sha256
        scan = store.last_scan(sha256)
        if scan is not None and scan.get("verdict") == "dangerous":
            raise UsageError(f"the adapter '{name}' was found dangerous by its scan; run 'uptake scan' on it.")
    base_sha256 = base.file_sha256()
    if made_for != base_sha256:
        raise UsageError(
            f"the adapter '{name}' was made for the model {made_for[:12]}, not {base.name} ({base_sha256[:12]}); "
            "apply it to the model it was made for."
        )
    return replace(
        base,
        name=f"{base.name}{ADAPTER_SEPARATOR}{name}",
        adapter=ResolvedAdapter(name, path, sha256, made_for),
    )
