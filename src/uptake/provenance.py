"""Which model a run used (audit, task), and with which software: the facts a reproduce record needs."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass
from importlib import metadata as package_metadata
from typing import Any

from uptake.models.resolve import ResolvedModel

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
    trust: str | None  # verified, tofu or imported, as the store records it; None for a bare file; over HTTP
    # (audit --backend http): server-reported when the server gives the file's sha256, else unverified
    adapter: str | None = None  # a LoRA adapter applied on top of the file (name), and its content hash
    adapter_sha256: str | None = None

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
            adapter=data.get("adapter"),
            adapter_sha256=data.get("adapter_sha256"),
        )


def identify_model(model: ResolvedModel, given_as: str | None = None) -> ModelIdentity:
    """The model's content hash and header facts, as resolved (a bare file is hashed now)."""
    header = model.metadata
    return ModelIdentity(
        name=given_as or model.reference,
        sha256=model.file_sha256(),
        path=str(model.path),
        quantization=header.get("quantization"),
        architecture=header.get("architecture"),
        parameters=header.get("parameters"),
        chat_template_sha256=header.get("chat_template_sha256"),
        trust=model.trust,
        adapter=model.adapter.name if model.adapter is not None else None,
        adapter_sha256=model.adapter.sha256 if model.adapter is not None else None,
    )


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("uptake", *RECORDED_PACKAGES):
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            versions[name] = None
    return versions

