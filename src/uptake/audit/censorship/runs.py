"""Run folders, run.json and the `runs` table: where an audit keeps what it needs to resume.

A run folder holds run.json (the settings, written once at the start), results.jsonl (the
journal), summary.json and report.html. The `runs` table indexes the folders by run id.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from uptake import run_folders
from uptake.audit.censorship.plan import AuditConfig
from uptake.audit.censorship.records import ClassifierSettings, EngineRecord
from uptake.db import connect, utc_now
from uptake.errors import UsageError
from uptake.provenance import ModelIdentity

RUN_KIND = "censorship"
RUN_SETTINGS_VERSION = 1
Status = Literal["running", "interrupted", "failed", "incomplete", "done"]


@dataclass(frozen=True)
class RunSettings:
    """run.json: what a resume needs to carry on exactly as the run began."""

    run_id: str
    created_at: str
    model: ModelIdentity
    audit: AuditConfig
    engine: EngineRecord  # load options (context size, threads) and what the engine reported
    classifier: ClassifierSettings  # mode, judge and threshold; never an API key
    probe_set_version: str
    command: str
    packages: dict[str, str | None]
    resumes: tuple[dict[str, Any], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": RUN_SETTINGS_VERSION,
            "kind": RUN_KIND,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "model": self.model.as_dict(),
            "audit": self.audit.as_dict(),
            "engine": self.engine.as_dict(),
            "classifier": self.classifier.as_dict(),
            "probe_set_version": self.probe_set_version,
            "command": self.command,
            "packages": self.packages,
            "resumes": list(self.resumes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        return cls(
            run_id=data["run_id"],
            created_at=data["created_at"],
            model=ModelIdentity.from_dict(data["model"]),
            audit=AuditConfig.from_dict(data["audit"]),
            engine=EngineRecord.from_dict(data.get("engine") or {}),
            classifier=ClassifierSettings.from_dict(data.get("classifier") or {}),
            probe_set_version=data["probe_set_version"],
            command=data.get("command", ""),
            packages=dict(data.get("packages", {})),
            resumes=tuple(data.get("resumes", ())),
        )


@dataclass(frozen=True)
class RunFolder(run_folders.RunFolder):
    """An audit's run folder: run.json, results.jsonl (the journal), summary.json and report.html."""

    @property
    def results_path(self) -> Path:
        return self.directory / "results.jsonl"

    def read_settings(self) -> RunSettings:
        data = self.read_run_json(RUN_KIND, "a censorship audit run")
        try:
            return RunSettings.from_dict(data)
        except (KeyError, TypeError, ValueError) as error:
            raise UsageError(f"{self.settings_path} is damaged ({error!r}); start a new run.") from error

    def write_settings(self, settings: RunSettings) -> None:
        self.write_run_json(settings.as_dict())


class RunIndex:
    """The `runs` table of the SQLite index."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def _db(self) -> sqlite3.Connection:
        return connect(self.db_path)

    def add(self, settings: RunSettings, directory: Path) -> None:
        with contextlib.closing(self._db()) as db:
            db.execute(
                "INSERT INTO runs (id, kind, model_name, model_sha256, settings, status, directory, created_at)"
                " VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
                (
                    settings.run_id,
                    RUN_KIND,
                    settings.model.name,
                    settings.model.sha256,
                    json.dumps(settings.as_dict(), ensure_ascii=False),
                    str(directory),
                    settings.created_at,
                ),
            )

    def update(self, run_id: str, status: Status, summary: dict[str, Any] | None = None) -> None:
        finished = utc_now() if status != "running" else None
        with contextlib.closing(self._db()) as db:
            db.execute(
                "UPDATE runs SET status = ?, summary = COALESCE(?, summary), finished_at = ? WHERE id = ?",
                (status, None if summary is None else json.dumps(summary, ensure_ascii=False), finished, run_id),
            )

    def update_settings(self, settings: RunSettings) -> None:
        with contextlib.closing(self._db()) as db:
            db.execute(
                "UPDATE runs SET settings = ? WHERE id = ?",
                (json.dumps(settings.as_dict(), ensure_ascii=False), settings.run_id),
            )

    def directory_of(self, run_id: str) -> Path | None:
        with contextlib.closing(self._db()) as db:
            row = db.execute("SELECT directory FROM runs WHERE id = ? AND kind = ?", (run_id, RUN_KIND)).fetchone()
        return Path(row["directory"]) if row is not None and row["directory"] else None

    def status_of(self, run_id: str) -> str | None:
        with contextlib.closing(self._db()) as db:
            row = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        return str(row["status"]) if row is not None else None

    def ensure(self, settings: RunSettings, directory: Path) -> None:
        """Index a run folder the index does not know (moved, or from another machine)."""
        if self.status_of(settings.run_id) is None:
            self.add(settings, directory)


def locate_run(run: str, index: RunIndex) -> RunFolder:
    """A run by id (through the index) or by the path of its folder."""
    directory = index.directory_of(run)
    if directory is None:
        candidate = Path(run).expanduser()
        if (candidate / "run.json").is_file():
            directory = candidate
    if directory is None:
        raise UsageError(f"no censorship audit run '{run}'; give a run id from a previous run or its folder.")
    if not directory.is_dir():
        raise UsageError(f"run {run} was kept in {directory}, which no longer exists.")
    return RunFolder(directory)
