"""Schedules in the run store's SQLite file: table ``schedules`` (schema step 5 in ``store/sqlite_schema.py``).

One row per schedule: ``id``, ``created_at`` (listing order), ``record`` (the ``ScheduleRecord`` as JSON) and
``version``. ``update`` is ``UPDATE … WHERE id = ? AND version = ?``: one statement, so of two processes writing
the version they both read, exactly one changes the row. A connection per call: schedules are read about once a
second per replica and written about once per tick, and SQLite's own file lock (busy timeout) orders writers
across processes just as it does for the run store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from apps.agent_core.store.base import StoreError, VersionConflict
from apps.agent_core.triggers.schedule_store import MAX_SCHEDULES, ScheduleExists, ScheduleNotFound
from apps.agent_core.triggers.schedules import ScheduleRecord

__all__ = ["SqliteScheduleStore"]

T = TypeVar("T")


def _encode(record: ScheduleRecord) -> str:
    return record.model_dump_json(exclude={"version"})


def _decode(text: str, version: int) -> ScheduleRecord:
    return ScheduleRecord.model_validate_json(text).model_copy(update={"version": version})


class SqliteScheduleStore:
    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self._path = Path(path).expanduser()
        self._busy_timeout = busy_timeout

    async def create(self, record: ScheduleRecord) -> None:
        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO schedules (id, created_at, record, version) VALUES (?, ?, ?, ?)",
                    (record.id, record.created_at, _encode(record), record.version),
                )
            except sqlite3.IntegrityError as exc:
                raise ScheduleExists(f"a schedule with id {record.id!r} already exists") from exc

        await self._run(work)

    async def get(self, schedule_id: str) -> ScheduleRecord | None:
        def work(conn: sqlite3.Connection) -> ScheduleRecord | None:
            row = conn.execute("SELECT record, version FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
            return None if row is None else _decode(row[0], row[1])

        return await self._run(work)

    async def list(self) -> list[ScheduleRecord]:
        def work(conn: sqlite3.Connection) -> list[ScheduleRecord]:
            rows = conn.execute(
                "SELECT record, version FROM schedules ORDER BY created_at, id LIMIT ?", (MAX_SCHEDULES,)
            ).fetchall()
            return [_decode(text, version) for text, version in rows]

        return await self._run(work)

    async def update(self, record: ScheduleRecord) -> ScheduleRecord:
        stored = record.model_copy(update={"version": record.version + 1})

        def work(conn: sqlite3.Connection) -> None:
            changed = conn.execute(
                "UPDATE schedules SET record = ?, version = ? WHERE id = ? AND version = ?",
                (_encode(stored), stored.version, record.id, record.version),
            )
            if changed.rowcount == 1:
                return
            if conn.execute("SELECT 1 FROM schedules WHERE id = ?", (record.id,)).fetchone() is None:
                raise ScheduleNotFound(f"schedule {record.id!r} does not exist")
            raise VersionConflict(f"schedule {record.id!r} changed since version {record.version} was read")

        await self._run(work)
        return stored

    async def delete(self, schedule_id: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,)).rowcount == 1

        return await self._run(work)

    async def close(self) -> None:
        """Nothing is held between calls."""

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(partial(self._in_connection, work))

    def _in_connection(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._errors():
            # Autocommit: each statement is its own transaction; the run store set WAL mode on the file.
            conn = sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None)
            try:
                return work(conn)
            finally:
                conn.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"the schedule store {str(self._path)!r} failed: {exc}") from exc
