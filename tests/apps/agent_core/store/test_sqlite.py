"""What is particular to the SQLite backend: the file's settings, its schema version, reopening, errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from apps.agent_core.store.base import AlreadyRecorded, StoreError
from apps.agent_core.store.sqlite import SCHEMA_VERSION, SqliteRunStore
from tests.apps.agent_core.store.helpers import make_header

pytestmark = pytest.mark.anyio


def inspect(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


async def test_the_file_is_in_wal_mode_with_the_documented_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "runs.db"  # directories are created
    store = SqliteRunStore(path)
    await store.close()
    assert inspect(path, "PRAGMA journal_mode") == [("wal",)]
    assert inspect(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert SCHEMA_VERSION == 5
    tables = ("runs", "events", "event_keys", "claims", "schedules")
    columns = {table: [row[1] for row in inspect(path, f"PRAGMA table_info({table})")] for table in tables}
    assert columns == {
        "runs": ["id", "status", "created_at", "header", "version", "lease_owner", "lease_expires_at"],
        "events": ["run_id", "seq", "type", "data", "at"],
        "event_keys": ["run_id", "key", "seq"],
        "claims": ["key", "holder", "expires_at"],
        "schedules": ["id", "created_at", "record", "version"],
    }
    named = inspect(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    indexes = {name: [row[2] for row in inspect(path, f"PRAGMA index_info({name})")] for (name,) in named}
    assert indexes == {"runs_by_status": ["status", "created_at", "id"], "runs_by_created": ["created_at", "id"]}
    primary_keys = {
        "events": [(1, "run_id"), (2, "seq")],
        "event_keys": [(1, "run_id"), (2, "key")],
        "claims": [(1, "key")],
        "schedules": [(1, "id")],
    }
    for table, key in primary_keys.items():
        assert sorted((row[5], row[1]) for row in inspect(path, f"PRAGMA table_info({table})") if row[5]) == key


# The schema exactly as the release before once keys (d2200bf) created it: schema version 2.
_VERSION_2 = (
    "CREATE TABLE IF NOT EXISTS runs ("
    " id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at REAL NOT NULL,"
    " header TEXT NOT NULL, version INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, created_at, id)",
    "CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_at, id)",
    "CREATE TABLE IF NOT EXISTS events ("
    " run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, at REAL NOT NULL,"
    " PRIMARY KEY (run_id, seq)) WITHOUT ROWID",
    "ALTER TABLE runs ADD COLUMN lease_owner TEXT",
    "ALTER TABLE runs ADD COLUMN lease_expires_at REAL",
    "PRAGMA user_version = 2",
)


async def test_a_version_2_file_is_migrated_and_takes_once_keyed_appends(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    header = make_header(status="awaiting_approval")
    with sqlite3.connect(path) as conn:
        for statement in _VERSION_2:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, 0, NULL, NULL)",
            (header.id, header.status, header.created_at, header.model_dump_json()),
        )
        conn.execute("INSERT INTO events VALUES (?, 1, 'approval_requested', '{}', 1.0)", (header.id,))
    conn.close()

    store = SqliteRunStore(path)
    try:
        await store.check()
        decided = await store.append_event(header.id, "approval_decided", {"by": "ana"}, once="decision:a1")
        assert decided.seq == 2
        with pytest.raises(AlreadyRecorded) as refused:
            await store.append_event(header.id, "approval_decided", {"by": "bo"}, once="decision:a1")
        assert refused.value.existing_seq == 2
        assert [(event.seq, event.type) for event in await store.events(header.id)] == [
            (1, "approval_requested"),
            (2, "approval_decided"),
        ]
    finally:
        await store.close()
    assert inspect(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert inspect(path, "SELECT run_id, key, seq FROM event_keys") == [(header.id, "decision:a1", 2)]


async def test_reopening_keeps_the_data_and_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    first = SqliteRunStore(path)
    header = make_header()
    await first.create(header)
    await first.append_event(header.id, "run_started", {"a": 1})
    await first.close()

    second = SqliteRunStore(path)
    try:
        assert await second.get(header.id) == header
        assert (await second.append_event(header.id, "model_turn", {})).seq == 2
        await second.check()
    finally:
        await second.close()
    assert inspect(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


async def test_a_file_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SqliteRunStore(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer than"):
        SqliteRunStore(path)
    # A process already running notices at its next readiness check.
    with pytest.raises(StoreError, match="upgrade this process"):
        await store.check()
    await store.close()


async def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.db")
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.get("x")


async def test_an_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create the directory"):
        SqliteRunStore(blocker / "runs.db")
    with pytest.raises(StoreError, match="cannot open the run store"):
        SqliteRunStore(tmp_path)  # a directory, not a file


async def test_a_writer_in_another_connection_makes_writes_wait_then_fail(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SqliteRunStore(path, busy_timeout=0.2)
    header = make_header()
    await store.create(header)
    # Another process's long write transaction, as seen from this store.
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="busy with another writer"):
            await store.append_event(header.id, "run_started", {})
        assert await store.get(header.id) == header  # WAL: reads go on
        other.execute("ROLLBACK")
        assert (await store.append_event(header.id, "run_started", {})).seq == 1
    finally:
        other.close()
        await store.close()


async def test_many_readers_and_writers_share_the_pool(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.db", max_idle_connections=2)
    headers = [make_header(created_at=float(index)) for index in range(20)]
    try:
        async with anyio.create_task_group() as group:
            for header in headers:
                group.start_soon(store.create, header)
        async with anyio.create_task_group() as group:
            for header in headers:
                group.start_soon(store.append_event, header.id, "run_started", {})
                group.start_soon(store.list)
        for header in headers:
            assert [event.seq for event in await store.events(header.id)] == [1]
    finally:
        await store.close()
