"""Model hubs (Hugging Face, ModelScope) and plain URLs, with HTTP range requests to resume."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from uptake.models.catalog import Source
from uptake.models.download import Progress, download
from uptake.settings import Settings


def hub_url(source: Source, settings: Settings) -> str:
    if source.kind == "huggingface":
        return f"{settings.hf_endpoint.rstrip('/')}/{source.repo}/resolve/{source.revision}/{source.file}"
    if source.kind == "modelscope":
        revision = "master" if source.revision == "main" else source.revision
        return f"{settings.modelscope_endpoint.rstrip('/')}/models/{source.repo}/resolve/{revision}/{source.file}"
    return source.url


class HubFetcher:
    def __init__(self, source: Source, settings: Settings) -> None:
        self.source = source
        self.settings = settings

    def fetch(self, target: Path, progress: Progress, expected_sha256: str) -> str:
        headers = {"User-Agent": "uptake"}
        token = os.environ.get("HF_TOKEN")
        if token and self.source.kind == "huggingface":
            headers["Authorization"] = f"Bearer {token}"
        timeout = httpx.Timeout(self.settings.download_timeout_s, connect=10.0)
        with httpx.Client(timeout=timeout) as client:
            return download(
                client,
                hub_url(self.source, self.settings),
                target,
                progress=progress,
                description=self.source.file or self.source.url,
                expected_sha256=expected_sha256,
                headers=headers,
            )
