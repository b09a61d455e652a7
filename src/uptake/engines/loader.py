"""Load a resolved model into an engine, with the settings as defaults."""

from __future__ import annotations

from typing import Any

from uptake.engines.llamacpp import LlamaCppEngine
from uptake.models.resolve import ResolvedModel, resolve_model
from uptake.settings import Settings, get_settings


def load_engine(model: ResolvedModel | str, settings: Settings | None = None, **options: Any) -> LlamaCppEngine:
    """Load a resolved model; a name or path is resolved first (without pulling), for library callers."""
    settings = settings or get_settings()
    resolved = model if isinstance(model, ResolvedModel) else resolve_model(model, settings, pull=False)
    defaults: dict[str, Any] = {
        "context_size": settings.context_size,
        "threads": settings.threads,
        "batch_size": settings.batch_size,
        "parallel": settings.parallel,
        "gpu_layers": settings.gpu_layers,
        "chat_template": resolved.chat_template,
        "bos_token": resolved.metadata.get("bos_token") or "",
        "eos_token": resolved.metadata.get("eos_token") or "",
        "adapter_path": resolved.adapter.path if resolved.adapter is not None else None,
    }
    defaults.update({key: value for key, value in options.items() if value is not None})
    # None is a real choice for flash attention (llama.cpp decides), so it is passed on even when None.
    return LlamaCppEngine(resolved.path, **{**defaults, "flash_attention": options.get("flash_attention", False)})
