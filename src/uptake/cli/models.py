"""`uptake pull / import / list / show / rm`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from uptake.cli.options import ForceOption, JsonOption
from uptake.cli.output import ByteProgress, console, err_console, human_bytes, human_count, print_json
from uptake.models.catalog import CatalogEntry, load_catalog
from uptake.models.pull import pull_model
from uptake.models.store import Store, StoredModel
from uptake.scan.gate import scan_gate
from uptake.settings import get_settings


def model_summary(model: StoredModel) -> dict[str, Any]:
    meta = model.metadata
    return {
        "name": model.name,
        "sha256": model.sha256,
        "size": model.size,
        "trust": model.trust,
        "source": model.source,
        "architecture": meta.get("architecture"),
        "parameters": meta.get("parameters"),
        "quantization": meta.get("quantization"),
        "context_length": meta.get("context_length"),
        "created_at": model.created_at,
    }


def catalog_summary(entry: CatalogEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "description": entry.description,
        "family": entry.family,
        "architecture": entry.architecture,
        "parameters": entry.parameters,
        "quantization": entry.quantization,
        "context_length": entry.context_length,
        "license": entry.license,
        "publisher": entry.publisher,
        "publisher_country": entry.publisher_country,
        "size_bytes": entry.size_bytes,
        "size_approximate": entry.size_approximate,
        "sha256": entry.sha256 or None,
        "sources": [source.describe() for source in entry.sources],
    }


def pull(
    model: Annotated[str, typer.Argument(help="Catalog name, e.g. qwen2.5-coder:0.5b.")] = "",
    force: ForceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Download a catalog model, verify its sha256 and add it to the store."""
    name = model or get_settings().default_model
    store = Store()
    with ByteProgress(quiet=json_output) as progress:
        stored, downloaded = pull_model(store, name, progress=progress, gate=scan_gate(force))
    if json_output:
        print_json({**model_summary(stored), "downloaded": downloaded})
        return
    if not downloaded:
        console.print(f"{name} is already in the store ({stored.sha256[:12]}).")
    elif stored.trust == "verified":
        console.print(f"pulled {name}: sha256 {stored.sha256} matches the catalog.")
    else:
        console.print(
            f"pulled {name}: the catalog publishes no hash for it, so the computed sha256 "
            f"{stored.sha256} was recorded (trust on first use)."
        )


def import_(
    path: Annotated[Path, typer.Argument(help="A local .gguf file.")],
    name: Annotated[str | None, typer.Option("--name", help="Name in the store (default: file name).")] = None,
    force: ForceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Add a local GGUF file to the store."""
    with ByteProgress(quiet=json_output) as progress:
        stored = Store().import_file(path, name=name, gate=scan_gate(force), progress=progress)
    if json_output:
        print_json(model_summary(stored))
        return
    note = " (identical to the catalog's published file)" if stored.trust == "verified" else ""
    console.print(f"imported {stored.name}: sha256 {stored.sha256}{note}")


def list_(
    all_: Annotated[bool, typer.Option("--all", help="Show every catalog model, pulled or not.")] = False,
    json_output: JsonOption = False,
) -> None:
    """List the models in the store (and, with --all, the catalog)."""
    stored = {model.name: model for model in Store().list()}
    catalog = load_catalog()
    if json_output:
        rows: list[dict[str, Any]] = [model_summary(m) | {"pulled": True} for m in stored.values()]
        if all_:
            rows += [catalog_summary(e) | {"pulled": False} for n, e in catalog.entries.items() if n not in stored]
        print_json(rows)
        return
    table = Table("name", "size", "params", "quant", "arch", "trust" if not all_ else "status")
    for model in stored.values():
        meta = model.metadata
        table.add_row(model.name, human_bytes(model.size), human_count(int(meta.get("parameters") or 0)),
                      str(meta.get("quantization")), str(meta.get("architecture")), model.trust)
    if all_:
        for name, entry in catalog.entries.items():
            if name not in stored:
                size = ("~" if entry.size_approximate else "") + human_bytes(entry.size_bytes)
                table.add_row(name, size, human_count(entry.parameters), entry.quantization,
                              entry.architecture, "not pulled")
    if not stored and not all_:
        console.print(
            "The store is empty. 'uptake pull' fetches the default model; "
            "'uptake list --all' shows the catalog."
        )
        return
    console.print(table)


def show(
    model: Annotated[str, typer.Argument(help="A model in the store or the catalog.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Show a model's metadata, provenance and last scan."""
    name = model or get_settings().default_model
    store = Store()
    stored = store.get(name)
    catalog = load_catalog()
    entry = catalog.entries.get(name) or (catalog.by_sha256(stored.sha256) if stored else None)
    if stored is None and entry is None:
        store.resolve(name)  # raises the not-found error with suggestions
    data: dict[str, Any] = {"name": name, "pulled": stored is not None}
    if stored is not None:
        meta = dict(stored.metadata)
        data |= model_summary(stored)
        data["path"] = str(stored.path)
        data["metadata"] = meta
        data["last_scan"] = store.last_scan(stored.sha256)
    if entry is not None:
        data["catalog"] = catalog_summary(entry)
        if stored is not None and entry.sha256:
            data["matches_catalog"] = stored.sha256 == entry.sha256
    if json_output:
        print_json(data)
        return
    _print_show(data)


def _print_show(data: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    meta = data.get("metadata", {})
    catalog = data.get("catalog", {})
    rows: list[tuple[str, Any]] = [
        ("name", data["name"]),
        ("status", "in the store" if data["pulled"] else "not pulled (run 'uptake pull')"),
        ("architecture", meta.get("architecture") or catalog.get("architecture")),
        ("parameters", human_count(int(meta.get("parameters") or catalog.get("parameters") or 0))),
        ("quantization", meta.get("quantization") or catalog.get("quantization")),
        ("context length", meta.get("context_length") or catalog.get("context_length")),
        ("size", human_bytes(int(data.get("size") or catalog.get("size_bytes") or 0))),
        ("sha256", data.get("sha256") or catalog.get("sha256")),
        ("trust", data.get("trust")),
        ("source", data.get("source")),
        ("tokenizer", meta.get("tokenizer_model")),
        ("vocabulary", meta.get("vocab_size")),
        ("chat template sha256", meta.get("chat_template_sha256") or ("none in file" if meta else None)),
        ("licence", catalog.get("license")),
        ("publisher", f"{catalog['publisher']} ({catalog['publisher_country']})" if catalog else None),
        ("matches catalog", data.get("matches_catalog")),
    ]
    scan = data.get("last_scan")
    if scan:
        rows.append(("last scan", f"{scan.get('verdict')} ({scan.get('scanned_at', '')})"))
    for key, value in rows:
        if value is not None:
            table.add_row(key, str(value))
    console.print(table)


def rm(
    model: Annotated[str, typer.Argument(help="A model in the store.")],
    json_output: JsonOption = False,
) -> None:
    """Remove a model from the store (its file too, unless another name shares it)."""
    removed = Store().remove(model)
    if json_output:
        print_json({"removed": removed.name, "sha256": removed.sha256})
    else:
        err_console.print(f"removed {removed.name}")
