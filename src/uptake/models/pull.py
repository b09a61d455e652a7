"""Pull a catalog model: try its sources in order, verify the hash, register it in the store."""

from __future__ import annotations

import re

from uptake.errors import DownloadError
from uptake.models.catalog import CatalogEntry, load_catalog
from uptake.models.download import NoProgress, Progress
from uptake.models.sources import fetcher_for
from uptake.models.store import Gate, Store, StoredModel, Trust


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def pull_model(
    store: Store,
    name: str,
    *,
    progress: Progress | None = None,
    gate: Gate | None = None,
    entry: CatalogEntry | None = None,
) -> tuple[StoredModel, bool]:
    """Returns (model, whether anything was downloaded). A model already present is left as it is.

    Partial downloads live under UPTAKE_HOME/tmp and are resumed by the next pull of the same model.
    A hash mismatch is raised at once, never retried on another source: a source that serves wrong
    bytes is something the user must hear about.
    """
    entry = entry or load_catalog().get(name)
    existing = store.get(name)
    if existing is not None and (not entry.sha256 or existing.sha256 == entry.sha256):
        return existing, False
    progress = progress or NoProgress()
    failures: list[str] = []
    for index, source in enumerate(entry.sources):
        prefix = f"pull-{_slug(name)}-{index}"
        target = store.tmp / f"{prefix}.gguf.partial"
        fetcher = fetcher_for(source, store.settings, store.tmp / f"{prefix}.parts")
        try:
            sha256 = fetcher.fetch(target, progress, entry.sha256)
        except DownloadError as error:
            failures.append(f"{source.describe()}: {error}")
            continue
        trust: Trust = "verified" if entry.sha256 else "tofu"
        try:
            model = store.register(target, sha256=sha256, name=name, source=source.describe(),
                                   trust=trust, gate=gate, entry=entry)
        finally:
            target.unlink(missing_ok=True)
        store.clear_temp(f"pull-{_slug(name)}-")
        return model, True
    raise DownloadError(f"no source could deliver {name}: " + "; ".join(failures))
