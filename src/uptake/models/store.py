"""The content-addressed model store: blobs named by sha256 under UPTAKE_HOME, indexed in SQLite."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from uptake.db import connect, utc_now
from uptake.errors import ModelNotFoundError, UsageError
from uptake.models.catalog import CatalogEntry, load_catalog
from uptake.models.download import CHUNK, NoProgress, Progress, sha256_file
from uptake.models.gguf_meta import read_gguf_metadata
from uptake.settings import Settings, get_settings

# verified: matches the catalog's published sha256; tofu: no published hash, the first pull's hash is
# recorded; imported: a local file the user brought, identified only by its own hash.
Trust = Literal["verified", "tofu", "imported"]
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(:[A-Za-z0-9._-]+)?$")

# Called with the file about to be registered; raises to refuse it (the artifact scan plugs in here).
Gate = Callable[[Path, "CatalogEntry | None", str], dict[str, Any] | None]


@dataclass(frozen=True)
class StoredModel:
    name: str
    sha256: str
    path: Path
    size: int
    source: str
    trust: Trust
    metadata: dict[str, Any]
    created_at: str

    @property
    def chat_template(self) -> str | None:
        template = self.metadata.get("chat_template")
        return template if isinstance(template, str) else None


class Store:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.home = self.settings.home
        self.blobs = self.home / "blobs" / "sha256"
        self.tmp = self.home / "tmp"
        self.db_path = self.home / "uptake.db"

    def _db(self) -> sqlite3.Connection:
        return connect(self.db_path)

    def blob_path(self, sha256: str) -> Path:
        return self.blobs / sha256

    def _row_to_model(self, row: sqlite3.Row) -> StoredModel:
        return StoredModel(
            name=row["name"],
            sha256=row["sha256"],
            path=self.blob_path(row["sha256"]),
            size=row["size"],
            source=row["source"],
            trust=row["trust"],
            metadata=json.loads(row["metadata"]),
            created_at=row["created_at"],
        )

    def list(self) -> list[StoredModel]:
        with self._db() as db:
            rows = db.execute(
                "SELECT m.*, b.size FROM models m JOIN blobs b USING (sha256) ORDER BY m.name"
            ).fetchall()
        return [self._row_to_model(row) for row in rows]

    def get(self, name: str) -> StoredModel | None:
        with self._db() as db:
            row = db.execute(
                "SELECT m.*, b.size FROM models m JOIN blobs b USING (sha256) WHERE m.name = ?", (name,)
            ).fetchone()
        return self._row_to_model(row) if row else None

    def resolve(self, name: str) -> StoredModel:
        """A model in the store by name, or a clear error that says how to get it."""
        model = self.get(name)
        if model is not None:
            return model
        catalog = load_catalog()
        if name in catalog:
            raise ModelNotFoundError.not_pulled(name)
        raise ModelNotFoundError(name, catalog.suggest(name, [m.name for m in self.list()]))

    def register(
        self,
        file: Path,
        *,
        sha256: str,
        name: str,
        source: str,
        trust: Trust,
        gate: Gate | None = None,
        entry: CatalogEntry | None = None,
    ) -> StoredModel:
        """Move a fully written, hashed temp file into the blob store and index it under `name`.

        The gate runs before anything is registered; if it raises, the file is left for the caller to
        discard and the index is untouched. Without one, the artifact scan is the gate: no caller, CLI
        or library, registers a file unscanned (`--force` passes a gate that records but never refuses).
        """
        metadata = read_gguf_metadata(file).to_dict()
        if gate is None:
            from uptake.scan.gate import scan_gate  # the scanner builds on models/, not the other way round

            gate = scan_gate(force=False)
        scan = gate(file, entry, sha256)
        self.blobs.mkdir(parents=True, exist_ok=True)
        blob = self.blob_path(sha256)
        if blob.exists():
            file.unlink(missing_ok=True)
        else:
            os.replace(file, blob)
        now = utc_now()
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            self.record_blob(db, blob, scan, now)
            db.execute(
                "INSERT OR REPLACE INTO models (name, sha256, source, trust, metadata, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, sha256, source, trust, json.dumps(metadata), now),
            )
            db.execute("COMMIT")
        model = self.get(name)
        assert model is not None
        return model

    def record_blob(self, db: sqlite3.Connection, blob: Path, scan: dict[str, Any] | None, now: str) -> None:
        """Index a blob already in place (named by its sha256) and the scan that let it in, inside the
        caller's transaction."""
        db.execute("INSERT OR IGNORE INTO blobs (sha256, size, created_at) VALUES (?, ?, ?)",
                   (blob.name, blob.stat().st_size, now))
        if scan is not None:
            db.execute("INSERT INTO scans (sha256, verdict, report, created_at) VALUES (?, ?, ?, ?)",
                       (blob.name, scan.get("verdict", "unknown"), json.dumps(scan), now))

    def import_file(self, path: Path, *, name: str | None = None, gate: Gate | None = None,
                    progress: Progress | None = None) -> StoredModel:
        """Copy a local GGUF into the store (hashing as it copies) and index it."""
        if not path.is_file():
            raise UsageError(f"{path} is not a file; give the path of a .gguf model file.")
        name = name or path.stem.lower()
        if not NAME_PATTERN.match(name):
            raise UsageError(f"'{name}' is not a valid model name; use letters, digits, '.', '_', '-' and one ':'.")
        read_gguf_metadata(path)  # refuse a non-GGUF before copying gigabytes
        self.tmp.mkdir(parents=True, exist_ok=True)
        temp = self.tmp / f"import-{os.getpid()}-{path.name}.partial"
        progress = progress or NoProgress()
        progress.start(f"importing {path.name}", path.stat().st_size)
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as source, open(temp, "wb") as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    digest.update(chunk)
                    progress.advance(len(chunk))
            progress.finish()
            sha256 = digest.hexdigest()
            existing = self.get(name)
            if existing is not None and existing.sha256 != sha256:
                raise UsageError(
                    f"the name '{name}' already holds a different file ({existing.sha256[:12]}); "
                    f"choose another with --name or run 'uptake rm {name}' first."
                )
            entry = load_catalog().by_sha256(sha256)
            trust: Trust = "verified" if entry is not None else "imported"
            return self.register(temp, sha256=sha256, name=name, source=f"file:{path.resolve()}",
                                 trust=trust, gate=gate, entry=entry)
        finally:
            temp.unlink(missing_ok=True)

    def remove(self, name: str) -> StoredModel:
        model = self.resolve(name)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM models WHERE name = ?", (name,))
            others = db.execute("SELECT COUNT(*) FROM models WHERE sha256 = ?", (model.sha256,)).fetchone()[0]
            if not others:
                db.execute("DELETE FROM blobs WHERE sha256 = ?", (model.sha256,))
            db.execute("COMMIT")
        if not others:
            model.path.unlink(missing_ok=True)
        return model

    def last_scan(self, sha256: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute(
                "SELECT report FROM scans WHERE sha256 = ? ORDER BY id DESC LIMIT 1", (sha256,)
            ).fetchone()
        return json.loads(row["report"]) if row else None

    def last_scans(self) -> dict[str, dict[str, Any]]:
        """The newest scan report of every scanned blob, by sha256, in one query."""
        with contextlib.closing(self._db()) as db:
            rows = db.execute(
                "SELECT sha256, report FROM scans WHERE id IN (SELECT MAX(id) FROM scans GROUP BY sha256)"
            ).fetchall()
        return {row["sha256"]: json.loads(row["report"]) for row in rows}

    def clear_temp(self, prefix: str) -> None:
        for leftover in self.tmp.glob(f"{prefix}*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


@dataclass(frozen=True)
class StoredAdapter:
    """A LoRA adapter in the store: its own blob, the base it was made for, and how it was made."""

    name: str
    sha256: str
    path: Path
    size: int
    base_sha256: str
    base_name: str
    lineage: dict[str, Any]
    created_at: str

    @property
    def reference(self) -> str:
        return f"{self.base_name}+{self.name}"


ADAPTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class AdapterStore:
    """Adapters beside the models, in the same blob store and database (table `adapters`)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _row(self, row: sqlite3.Row) -> StoredAdapter:
        return StoredAdapter(
            name=row["name"], sha256=row["sha256"], path=self.store.blob_path(row["sha256"]), size=row["size"],
            base_sha256=row["base_sha256"], base_name=row["base_name"], lineage=json.loads(row["lineage"]),
            created_at=row["created_at"],
        )

    def list(self) -> list[StoredAdapter]:
        with self.store._db() as db:
            rows = db.execute(
                "SELECT a.*, b.size FROM adapters a JOIN blobs b USING (sha256) ORDER BY a.name"
            ).fetchall()
        return [self._row(row) for row in rows]

    def get(self, name: str) -> StoredAdapter | None:
        with self.store._db() as db:
            row = db.execute(
                "SELECT a.*, b.size FROM adapters a JOIN blobs b USING (sha256) WHERE a.name = ?", (name,)
            ).fetchone()
        return self._row(row) if row else None

    def resolve(self, name: str) -> StoredAdapter:
        adapter = self.get(name)
        if adapter is None:
            known = ", ".join(a.name for a in self.list()) or "none yet"
            raise UsageError(
                f"no adapter named '{name}' in the store (adapters: {known}); make one with 'uptake control decensor'."
            )
        return adapter

    def add(self, file: Path, *, name: str, base_sha256: str, base_name: str, lineage: dict[str, Any],
            gate: Gate | None = None) -> StoredAdapter:
        """Copy a finished adapter file into the blob store (scanned first, like every model file)."""
        if not ADAPTER_NAME.match(name):
            raise UsageError(f"'{name}' is not a valid adapter name; use letters, digits, '.', '_' and '-'.")
        sha256 = sha256_file(file)
        if gate is None:
            from uptake.scan.gate import scan_gate

            gate = scan_gate(force=False)
        scan = gate(file, None, sha256)
        self.store.blobs.mkdir(parents=True, exist_ok=True)
        blob = self.store.blob_path(sha256)
        if not blob.exists():
            temporary = blob.with_name(f".{sha256}.partial")
            shutil.copyfile(file, temporary)
            os.replace(temporary, blob)
        now = utc_now()
        with self.store._db() as db:
            db.execute("BEGIN IMMEDIATE")
            self.store.record_blob(db, blob, scan, now)
            db.execute(
                "INSERT OR REPLACE INTO adapters (name, sha256, base_sha256, base_name, lineage, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, sha256, base_sha256, base_name, json.dumps(lineage), now),
            )
            db.execute("COMMIT")
        stored = self.get(name)
        assert stored is not None
        return stored

    def remove(self, name: str) -> StoredAdapter:
        adapter = self.resolve(name)
        with self.store._db() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM adapters WHERE name = ?", (name,))
            users = db.execute("SELECT COUNT(*) FROM adapters WHERE sha256 = ?", (adapter.sha256,)).fetchone()[0]
            users += db.execute("SELECT COUNT(*) FROM models WHERE sha256 = ?", (adapter.sha256,)).fetchone()[0]
            if not users:
                db.execute("DELETE FROM blobs WHERE sha256 = ?", (adapter.sha256,))
            db.execute("COMMIT")
        if not users:
            adapter.path.unlink(missing_ok=True)
        return adapter
