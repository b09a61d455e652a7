"""Turn a model name (or a GGUF path) into a loaded engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from uptake.engines.llamacpp import LlamaCppEngine
from uptake.models.catalog import load_catalog, reference_template
from uptake.models.gguf_meta import is_gguf, read_gguf_metadata
from uptake.models.store import Store, StoredModel
from uptake.settings import Settings, get_settings


def chat_template_for(metadata: dict[str, Any], catalog_name: str | None) -> str | None:
    """The model's own template; for a file that carries none, its catalog family's reference template."""
    template = metadata.get("chat_template")
    if isinstance(template, str) and template.strip():
        return template
    catalog = load_catalog()
    if catalog_name is not None and catalog_name in catalog:
        family_template = catalog.get(catalog_name).chat_template
        if family_template:
            return reference_template(family_template)
    return None


def resolve_model(name_or_path: str, settings: Settings | None = None) -> tuple[Path, dict[str, Any], str | None]:
    """(file, header metadata, catalog name if any) for a store name or a path to a GGUF file."""
    path = Path(name_or_path)
    if path.suffix == ".gguf" or (path.is_file() and is_gguf(path)):
        return path, read_gguf_metadata(path).to_dict(), None
    model: StoredModel = Store(settings).resolve(name_or_path)
    return model.path, model.metadata, model.name


def load_engine(name_or_path: str, settings: Settings | None = None, **options: Any) -> LlamaCppEngine:
    """Load a model from the store (by name) or from a GGUF path, with settings as defaults."""
    settings = settings or get_settings()
    path, metadata, catalog_name = resolve_model(name_or_path, settings)
    defaults: dict[str, Any] = {
        "context_size": settings.context_size,
        "threads": settings.threads,
        "batch_size": settings.batch_size,
        "parallel": settings.parallel,
        "gpu_layers": settings.gpu_layers,
        "chat_template": chat_template_for(metadata, catalog_name),
        "bos_token": metadata.get("bos_token") or "",
        "eos_token": metadata.get("eos_token") or "",
    }
    defaults.update({key: value for key, value in options.items() if value is not None})
    return LlamaCppEngine(path, **defaults)
