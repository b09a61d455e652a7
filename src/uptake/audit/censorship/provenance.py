"""Which model a run audited, and with which software: the facts a reproduce record needs."""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict, dataclass
from importlib import metadata as package_metadata
from typing import Any

from uptake.engines.base import Engine
from uptake.settings import Settings

# Packages whose versions can change a run's results.
RECORDED_PACKAGES = ("llama-cpp-python", "gguf", "numpy", "scipy", "hanzidentifier", "matplotlib")


@dataclass(frozen=True)
class ModelIdentity:
    name: str
    sha256: str | None
    path: str | None
    quantization: str | None
    architecture: str | None
    parameters: int | None
    chat_template_sha256: str | None  # of the template in the model file, as the store records it
    trust: str | None  # verified, tofu or imported, as the store records it; None for a bare file

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelIdentity:
        return cls(
            name=str(data["name"]),
            sha256=data.get("sha256"),
            path=data.get("path"),
            quantization=data.get("quantization"),
            architecture=data.get("architecture"),
            parameters=data.get("parameters"),
            chat_template_sha256=data.get("chat_template_sha256"),
            trust=data.get("trust"),
        )


def identify_model(name_or_path: str, settings: Settings | None = None) -> ModelIdentity:
    """The model's content hash and header facts, from the store or (for a path) the file itself."""
    from uptake.engines.loader import resolve_model
    from uptake.models.download import sha256_file
    from uptake.models.store import Store

    path, header, catalog_name = resolve_model(name_or_path, settings)
    stored = Store(settings).get(catalog_name) if catalog_name is not None else None
    return ModelIdentity(
        name=name_or_path,
        sha256=stored.sha256 if stored is not None else sha256_file(path),
        path=str(path),
        quantization=header.get("quantization"),
        architecture=header.get("architecture"),
        parameters=header.get("parameters"),
        chat_template_sha256=header.get("chat_template_sha256"),
        trust=stored.trust if stored is not None else None,
    )


def engine_settings(engine: Engine) -> dict[str, Any]:
    """What the engine was loaded with, as far as it tells; the chat template is named by its hash."""
    template = getattr(engine, "chat_template", None)
    return {
        "engine": type(engine).__name__,
        "context_size": engine.context_size,
        "threads": getattr(engine, "threads", None),
        # Batched decoding can change greedy outputs, so how many sequences share a step is recorded.
        "parallel": getattr(engine, "parallel", None),
        "chat_template_used_sha256": hashlib.sha256(template.encode()).hexdigest()
        if isinstance(template, str)
        else None,
    }


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("uptake", *RECORDED_PACKAGES):
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            versions[name] = None
    return versions

