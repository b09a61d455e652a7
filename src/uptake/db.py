"""The SQLite index under UPTAKE_HOME. Migrations are append-only: never edit one, add the next."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    # 1: models in the store and the blobs they point to
    """
    CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE models (
        name TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL REFERENCES blobs(sha256),
        source TEXT NOT NULL,
        trust TEXT NOT NULL,
        metadata TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # 2: artifact scans, newest last
    """
    CREATE TABLE scans (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sha256 TEXT NOT NULL,
        verdict TEXT NOT NULL,
        report TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX scans_by_sha256 ON scans(sha256);
    """,
    # 3: runs of audits and other jobs, with everything needed to reproduce them
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        model_name TEXT,
        model_sha256 TEXT,
        settings TEXT NOT NULL,
        status TEXT NOT NULL,
        directory TEXT,
        summary TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    """,
    # 4: bench measurements, used to calibrate fit's predictions on this machine
    """
    CREATE TABLE bench_results (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model_name TEXT,
        model_sha256 TEXT NOT NULL,
        machine TEXT NOT NULL,
        settings TEXT NOT NULL,
        results TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # 5: LoRA adapters made for a base model, with their lineage (control)
    """
    CREATE TABLE adapters (
        name TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL REFERENCES blobs(sha256),
        base_sha256 TEXT NOT NULL,
        base_name TEXT NOT NULL,
        lineage TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def connect(path: Path) -> sqlite3.Connection:
    """Open (and migrate) the database. Each call gets its own connection; SQLite serialises writers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA foreign_keys=ON")
    migrate(connection)
    return connection


def migrate(connection: sqlite3.Connection) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if connection.execute("PRAGMA user_version").fetchone()[0] >= number:
                connection.execute("COMMIT")
                continue
            for statement in script.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
