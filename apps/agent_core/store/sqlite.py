"""The run store in one SQLite file: the embedded default (``make dev``, tests, a single machine).

Several processes may share the file (two agent-core processes on one machine). The file is in WAL
mode, so readers never wait for the writer; every write is one short ``BEGIN IMMEDIATE`` transaction,
so writers queue on SQLite's own file lock (for up to ``busy_timeout`` seconds, then ``StoreError``)
instead of failing half-way. Inside one process, writers also queue on a lock first, so only other
processes ever make SQLite's busy handler sleep. The file must be on a local filesystem: WAL relies
on shared memory, which network filesystems (NFS, EFS) do not provide reliably.

The schema and its migrations are in ``sqlite_schema.py``; they run when the store opens.
"""

from __future__ import annotations

import builtins
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from apps.agent_core.model import ACTIVE_STATUSES, EventType, RunEvent, RunHeader, RunStatus, TriggerKind
from apps.agent_core.store.base import (
    AlreadyRecorded,
    LeaseLost,
    RunExists,
    RunNotFound,
    RunPage,
    StoreError,
    VersionConflict,
)
from apps.agent_core.store.codec import (
    Position,
    check_claim_key,
    check_event_type,
    check_limit,
    check_once_key,
    decode_cursor,
    encode_cursor,
    encode_event_data,
    encode_header,
    listing_filter,
    make_event,
    parse_header,
)
from apps.agent_core.store.sqlite_schema import SCHEMA_VERSION, migrate

__all__ = ["SCHEMA_VERSION", "SqliteRunStore"]

T = TypeVar("T")

MAX_EVENTS_LIMIT = 10_000


class SqliteRunStore:
    """``RunStore`` in a SQLite file; opening it creates the file, its directory and the schema."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float = 10.0,
        max_idle_connections: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if busy_timeout <= 0:
            raise ValueError("busy_timeout must be positive")
        if max_idle_connections < 1:
            raise ValueError("max_idle_connections must be at least 1")
        self._path = Path(path).expanduser()
        self._busy_timeout = busy_timeout
        self._max_idle = max_idle_connections
        self._clock = clock
        # A small pool instead of a connection per thread: anyio's worker threads come and go, and a
        # thread-local connection would outlive its thread until the store closes.
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        with self._errors():
            self._open()

    @property
    def path(self) -> Path:
        return self._path

    async def create(self, header: RunHeader) -> None:
        text = encode_header(header)

        def work(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO runs (id, status, created_at, header, version, lease_owner, lease_expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        header.id,
                        header.status,
                        header.created_at,
                        text,
                        header.version,
                        header.lease_owner,
                        header.lease_expires_at,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise RunExists(f"a run with id {header.id!r} already exists") from exc

        await self._run(self._in_write, work)

    async def get(self, run_id: str) -> RunHeader | None:
        def work(conn: sqlite3.Connection) -> RunHeader | None:
            row = conn.execute("SELECT header, version FROM runs WHERE id = ?", (run_id,)).fetchone()
            return None if row is None else parse_header(row[0], row[1])

        return await self._run(self._in_read, work)

    async def update(self, header: RunHeader) -> RunHeader:
        stored = header.model_copy(update={"version": header.version + 1})
        text = encode_header(stored)

        def work(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "UPDATE runs SET status = ?, created_at = ?, header = ?, version = ?, lease_owner = ?,"
                " lease_expires_at = ? WHERE id = ? AND version = ?",
                (
                    stored.status,
                    stored.created_at,
                    text,
                    stored.version,
                    stored.lease_owner,
                    stored.lease_expires_at,
                    header.id,
                    header.version,
                ),
            )
            if cursor.rowcount == 1:
                return
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (header.id,)).fetchone() is None:
                raise RunNotFound(f"run {header.id!r} does not exist")
            raise VersionConflict(f"run {header.id!r} changed since version {header.version} was read")

        await self._run(self._in_write, work)
        return stored

    async def list(
        self,
        *,
        status: RunStatus | None = None,
        trigger: TriggerKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunPage:
        check_limit(limit)
        filters = listing_filter(status, trigger)
        after = decode_cursor(cursor, filters) if cursor is not None else None
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if trigger is not None:
            # Headers stored before triggers have none: they were started through the API.
            where.append("coalesce(json_extract(header, '$.trigger.kind'), 'api') = ?")
            params.append(trigger)
        if after is not None:
            where.append("(created_at, id) < (?, ?)")
            params += [after.created_at, after.run_id]
        sql = "SELECT header, version, created_at, id FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        # One row beyond the page says whether there is a next page, so the last page has no cursor.
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(limit + 1)

        def work(conn: sqlite3.Connection) -> builtins.list[Any]:
            return conn.execute(sql, params).fetchall()

        rows = await self._run(self._in_read, work)
        runs = [parse_header(row[0], row[1]) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(Position(last[2], last[3]), filters)
        return RunPage(runs=runs, next_cursor=next_cursor)

    async def append_event(
        self,
        run_id: str,
        type: EventType,
        data: dict[str, Any],
        *,
        lease_owner: str | None = None,
        once: str | None = None,
    ) -> RunEvent:
        check_event_type(type)
        if once is not None:
            check_once_key(once)
        text = encode_event_data(data)

        def work(conn: sqlite3.Connection) -> RunEvent:
            row = conn.execute("SELECT lease_owner, lease_expires_at FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(f"run {run_id!r} does not exist")
            if lease_owner is not None and (row[0] != lease_owner or (row[1] or 0) <= self._clock()):
                raise LeaseLost(f"run {run_id!r} is no longer leased to {lease_owner!r}")
            if once is not None:
                held = conn.execute(
                    "SELECT seq FROM event_keys WHERE run_id = ? AND key = ?", (run_id, once)
                ).fetchone()
                if held is not None:
                    raise AlreadyRecorded(run_id, once, held[0])
            # Safe only because the transaction holds the write lock: nobody else can take this number.
            (seq,) = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM events WHERE run_id = ?", (run_id,)).fetchone()
            at = self._clock()
            conn.execute(
                "INSERT INTO events (run_id, seq, type, data, at) VALUES (?, ?, ?, ?, ?)", (run_id, seq, type, text, at)
            )
            if once is not None:
                # Same transaction as the event: the key and its event commit together or not at all.
                conn.execute("INSERT INTO event_keys (run_id, key, seq) VALUES (?, ?, ?)", (run_id, once, seq))
            return make_event(run_id, seq, type, text, at)

        return await self._run(self._in_write, work)

    async def events(self, run_id: str, *, after: int = 0, limit: int = 1000) -> builtins.list[RunEvent]:
        check_limit(limit, MAX_EVENTS_LIMIT)

        def work(conn: sqlite3.Connection) -> builtins.list[Any]:
            return conn.execute(
                "SELECT seq, type, data, at FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (run_id, after, limit),
            ).fetchall()

        rows = await self._run(self._in_read, work)
        return [make_event(run_id, seq, type_, data, at) for seq, type_, data, at in rows]

    async def expired_leases(self, now: float, *, limit: int = 50) -> builtins.list[RunHeader]:
        check_limit(limit)
        marks = ", ".join("?" for _ in ACTIVE_STATUSES)

        def work(conn: sqlite3.Connection) -> builtins.list[Any]:
            # runs_by_status narrows this to active runs, which are few next to the finished ones.
            return conn.execute(
                f"SELECT header, version FROM runs WHERE status IN ({marks})"
                " AND (lease_expires_at IS NULL OR lease_expires_at < ?)"
                " ORDER BY coalesce(lease_expires_at, 0), created_at LIMIT ?",
                (*ACTIVE_STATUSES, now, limit),
            ).fetchall()

        rows = await self._run(self._in_read, work)
        return [parse_header(text, version) for text, version in rows]

    async def claim(self, key: str, holder: str, *, now: float, ttl_seconds: float | None = None) -> bool:
        check_claim_key(key)
        expires_at = None if ttl_seconds is None else now + ttl_seconds

        def work(conn: sqlite3.Connection) -> bool:
            # One statement under the write lock: a free or lapsed key is taken, a held one left alone.
            taken = conn.execute(
                "INSERT INTO claims (key, holder, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
                " WHERE claims.expires_at IS NOT NULL AND claims.expires_at <= ?",
                (key, holder, expires_at, now),
            )
            return taken.rowcount == 1

        return await self._run(self._in_write, work)

    async def check(self) -> None:
        def work(conn: sqlite3.Connection) -> None:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"the run store {str(self._path)!r} has schema version {version}; this code expects "
                    f"{SCHEMA_VERSION} (a newer release has migrated it; upgrade this process)"
                )
            conn.execute("SELECT 1 FROM runs LIMIT 1").fetchall()

        await self._run(self._in_read, work)

    async def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- plumbing -------------------------------------------------------------------------------

    async def _run(
        self,
        scope: Callable[[Callable[[sqlite3.Connection], T]], T],
        work: Callable[[sqlite3.Connection], T],
    ) -> T:
        # Not abandoned on cancellation: a transaction in flight finishes (or rolls back) in its thread.
        return await anyio.to_thread.run_sync(partial(scope, work))

    def _in_read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._errors(), self._connection() as conn:
            return work(conn)

    def _in_write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._errors(), self._write_lock, self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            if self._closed:
                raise StoreError("the run store is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            # A connection left inside a transaction (a failed ROLLBACK or COMMIT) is not reused.
            with self._pool_lock:
                keep = not conn.in_transaction and not self._closed and len(self._idle) < self._max_idle
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE), never implicitly.
        conn = sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            # With WAL, NORMAL loses at most the last transactions on power loss, never consistency.
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory for the run store {str(self._path)!r}: {exc}") from exc
        conn = self._connect()
        try:
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                raise StoreError(f"the run store {str(self._path)!r} cannot use WAL mode (journal mode is {mode})")
            with self._write_lock:
                migrate(conn, self._path)
        except BaseException:
            conn.close()
            raise
        self._idle.append(conn)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        where = repr(str(self._path))
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                message = (
                    f"the run store {where} is busy with another writer (waited up to {self._busy_timeout:g}s); "
                    "try again"
                )
            elif "unable to open" in text:
                message = f"cannot open the run store {where} (check the path and its permissions)"
            else:
                message = f"the run store {where} failed: {text}"
            raise StoreError(message) from exc
        except sqlite3.DatabaseError as exc:
            # "file is not a database", "database disk image is malformed", ...
            raise StoreError(f"the run store {where} is not a usable SQLite database: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"the run store {where} failed: {exc}") from exc
