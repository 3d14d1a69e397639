"""The run store's SQLite schema and the steps that bring an older file up to it.

Schema (``PRAGMA user_version`` is the schema version; ``MIGRATIONS`` lists the steps, applied in
order when the store opens, inside one ``BEGIN IMMEDIATE`` so two processes opening a new file at
once cannot both apply them)::

    runs(id TEXT PRIMARY KEY, status TEXT, created_at REAL, header TEXT (JSON), version INTEGER,
         lease_owner TEXT, lease_expires_at REAL)
        index runs_by_status (status, created_at, id), index runs_by_created (created_at, id)
    events(run_id TEXT, seq INTEGER, type TEXT, data TEXT (JSON), at REAL, PRIMARY KEY (run_id, seq))
    event_keys(run_id TEXT, key TEXT, seq INTEGER, PRIMARY KEY (run_id, key))
        the ``once`` keys of appends, each with the seq of the event written under it
    claims(key TEXT PRIMARY KEY, holder TEXT, expires_at REAL)
        ``claim``: who holds a key, until when (``NULL``: for ever)
    schedules(id TEXT PRIMARY KEY, created_at REAL, record TEXT (JSON), version INTEGER)
        the schedules (``triggers/schedule_store_sqlite.py``); ``version`` for conditional writes

A later schema adds a step to ``MIGRATIONS``; a file whose version is newer than this code knows is
refused rather than written with the old layout.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from apps.agent_core.store.base import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: runs and their event journals
        "CREATE TABLE IF NOT EXISTS runs ("
        " id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at REAL NOT NULL,"
        " header TEXT NOT NULL, version INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, created_at, id)",
        "CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_at, id)",
        "CREATE TABLE IF NOT EXISTS events ("
        " run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, at REAL NOT NULL,"
        " PRIMARY KEY (run_id, seq)) WITHOUT ROWID",
    ),
    (  # 2: leases, as columns so fencing and takeover need not parse headers
        "ALTER TABLE runs ADD COLUMN lease_owner TEXT",
        "ALTER TABLE runs ADD COLUMN lease_expires_at REAL",
    ),
    (  # 3: once keys, in their own table so the events table and its rows stay as older files have them
        "CREATE TABLE IF NOT EXISTS event_keys ("
        " run_id TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL,"
        " PRIMARY KEY (run_id, key)) WITHOUT ROWID",
    ),
    (  # 4: claims of keys that are not runs (rate-limit slots, cool-downs)
        "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL) WITHOUT ROWID",
    ),
    (  # 5: schedules, beside the runs their ticks start
        "CREATE TABLE IF NOT EXISTS schedules ("
        " id TEXT PRIMARY KEY, created_at REAL NOT NULL, record TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the steps ``conn``'s file lacks, in one transaction; refuse a file newer than this code.

    The caller holds the store's write lock; ``BEGIN IMMEDIATE`` also keeps out other processes.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the run store {str(path)!r} has schema version {version}, newer than this code's "
                f"{SCHEMA_VERSION}; upgrade this process rather than write to it"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            # user_version lives in the file header and commits with the steps it records.
            conn.execute(f"PRAGMA user_version = {number}")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
