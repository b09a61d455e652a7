"""The models a server offers, by name and alias, and whether they have finished loading."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from uptake.engines.base import Engine
from uptake.errors import ModelNotFoundError, UptakeError
from uptake.models.resolve import ResolvedModel

LoadState = Literal["loading", "ok", "failed"]


@dataclass
class ServedModel:
    name: str
    engine: Engine
    aliases: tuple[str, ...] = ()
    created: int = field(default_factory=lambda: int(time.time()))
    sha256: str | None = None  # the file's content hash (and the adapter's), shown on /v1/models
    adapter_sha256: str | None = None

    def close(self) -> None:
        self.engine.close()


@dataclass(frozen=True)
class ModelSpec:
    """What to load (a resolved model, or a store name or GGUF path to resolve), its served name and aliases."""

    source: ResolvedModel | str
    name: str
    aliases: tuple[str, ...] = ()


class ModelRegistry:
    def __init__(self) -> None:
        self._models: dict[str, ServedModel] = {}
        self._by_alias: dict[str, str] = {}
        self._lock = threading.Lock()
        self.state: LoadState = "loading"
        self.failure: str | None = None

    def add(self, model: ServedModel) -> None:
        with self._lock:
            for name in (model.name, *model.aliases):
                if name in self._by_alias:
                    raise UptakeError(f"two served models are both called '{name}'; give each its own alias.")
            self._models[model.name] = model
            for name in (model.name, *model.aliases):
                self._by_alias[name] = model.name

    def get(self, name: str) -> ServedModel:
        with self._lock:
            canonical = self._by_alias.get(name)
            if canonical is None:
                raise ModelNotFoundError(name, suggestions=sorted(self._by_alias))
            return self._models[canonical]

    def models(self) -> list[ServedModel]:
        with self._lock:
            return list(self._models.values())

    def health(self) -> tuple[LoadState, str | None]:
        """Loading, failed (to load, or a model's engine broke since), or ok."""
        if self.state != "ok":
            return self.state, self.failure
        for model in self.models():
            if (failure := model.engine.failure) is not None:
                return "failed", f"{model.name}: {failure}"
        return "ok", None

    def mark_ready(self) -> None:
        self.state = "ok"

    def mark_failed(self, message: str) -> None:
        self.failure = message
        self.state = "failed"

    def close(self) -> None:
        for model in self.models():
            model.close()


Loader = Callable[[ModelSpec], ServedModel]


def load_in_background(registry: ModelRegistry, specs: Sequence[ModelSpec], loader: Loader) -> threading.Thread:
    """Load models on a thread so the server can answer /health (503) while they load."""

    def load_all() -> None:
        try:
            for spec in specs:
                registry.add(loader(spec))
        except UptakeError as error:
            registry.mark_failed(str(error))
            return
        except Exception as error:  # a model that will not load must show on /health, not kill the server
            registry.mark_failed(f"{type(error).__name__}: {error}")
            return
        registry.mark_ready()

    thread = threading.Thread(target=load_all, name="uptake-model-loader", daemon=True)
    thread.start()
    return thread
