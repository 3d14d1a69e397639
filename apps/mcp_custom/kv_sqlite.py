"""The key/value store in one SQLite file: one machine, kept across restarts (``make dev``: ``var/kv.db``).

Schema (``PRAGMA user_version`` is its version; created when the store opens)::

    kv(namespace TEXT, key TEXT, value TEXT (compact JSON), updated_at TEXT (ISO 8601 UTC),
       expires_at INTEGER (epoch seconds; NULL: no TTL), size INTEGER (UTF-8 bytes of key and value),
       PRIMARY KEY (namespace, key))
    kv_total(bytes INTEGER): one row, the sum of kv.size, kept by triggers in the same transaction

``namespace`` is ``AGENTIC_KV_NAMESPACE``, the same partition the DynamoDB table has, so deployments sharing a
file do not see each other's keys. Like the in-memory store, the file is bounded by ``max_total_bytes``
(``AGENTIC_KV_MAX_TOTAL_BYTES``) of keys and values, counted over every namespace: the disk is the machine's,
and a model storing in a loop must not fill it. A write past the bound is refused, never evicted. Expired
rows are filtered on every read and deleted when a write needs their room.

Several processes may share the file: it is in WAL mode, and every write is one ``BEGIN IMMEDIATE``
transaction, so ``create``'s check and insert are atomic across processes (of two creates of one key
exactly one wins), and a writer waits up to ``busy_timeout`` for another before failing with a message.
Inside a process, calls come from the MCP SDK's worker threads (never the event loop) and share one
connection under a lock: each call is a few statements, so a pool would buy nothing. The file must be on a
local filesystem: WAL relies on shared memory, which network filesystems do not provide reliably.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from apps.common.tools import ToolError
from apps.mcp_custom.kv_store import (
    DEFAULT_MAX_TOTAL_BYTES,
    MAX_VALUE_BYTES,
    JsonValue,
    KeyExistsError,
    StoredItem,
    StoreFullError,
    decode_value,
    encode_value,
    expiry_epoch,
    footprint,
    iso_utc,
    validate_key,
    validate_limit,
    validate_prefix,
    validate_ttl,
)

__all__ = ["SCHEMA_VERSION", "SqliteKeyValueStore"]

SCHEMA = (
    "CREATE TABLE kv (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL,"
    " expires_at INTEGER, size INTEGER NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID",
    "CREATE TABLE kv_total (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL)",
    "INSERT INTO kv_total (id, bytes) VALUES (0, 0)",
    # Triggers rather than code: every statement that changes kv keeps the total, the purge included.
    "CREATE TRIGGER kv_added AFTER INSERT ON kv BEGIN UPDATE kv_total SET bytes = bytes + NEW.size; END",
    "CREATE TRIGGER kv_removed AFTER DELETE ON kv BEGIN UPDATE kv_total SET bytes = bytes - OLD.size; END",
    "CREATE TRIGGER kv_changed AFTER UPDATE OF size ON kv"
    " BEGIN UPDATE kv_total SET bytes = bytes - OLD.size + NEW.size; END",
)
SCHEMA_VERSION = 1
# An upsert, not INSERT OR REPLACE: REPLACE deletes without firing delete triggers, and the total would drift.
_UPSERT = (
    "INSERT INTO kv (namespace, key, value, updated_at, expires_at, size) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,"
    " expires_at = excluded.expires_at, size = excluded.size"
)
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
# Every key character sorts below DEL, so the keys starting with p are exactly those in [p, p + DEL).
_AFTER_EVERY_KEY_CHARACTER = "\x7f"


class SqliteKeyValueStore:
    """``KeyValueStore`` in a SQLite file, scoped to ``namespace``; opening it creates the file and schema."""

    def __init__(
        self,
        path: Path,
        namespace: str = "default",
        *,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        max_value_bytes: int = MAX_VALUE_BYTES,
        busy_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        validate_key(namespace)
        if max_total_bytes < 1 or max_value_bytes < 1:
            raise ValueError("max_total_bytes and max_value_bytes must be at least 1")
        if busy_timeout <= 0:
            raise ValueError("busy_timeout must be positive")
        self._path = Path(path).expanduser()
        self._namespace = namespace
        self._max_total_bytes = max_total_bytes
        self._max_value_bytes = max_value_bytes
        self._busy_timeout = busy_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        with self._errors():
            self._conn = self._open()

    @property
    def path(self) -> Path:
        return self._path

    def create(self, key: str, value: JsonValue, ttl_seconds: int | None = None) -> StoredItem:
        return self._write(key, value, ttl_seconds, overwrite=False)

    def replace(self, key: str, value: JsonValue, ttl_seconds: int | None = None) -> StoredItem:
        return self._write(key, value, ttl_seconds, overwrite=True)

    def _write(self, key: str, value: JsonValue, ttl_seconds: int | None, *, overwrite: bool) -> StoredItem:
        validate_key(key)
        ttl = validate_ttl(ttl_seconds)
        text = encode_value(value, self._max_value_bytes)
        size = footprint(key, text)
        with self._transaction() as conn:
            now = self._clock()
            held = self._held(conn, key)
            if held is not None and not overwrite and _live(held[0], now):
                raise KeyExistsError(key)
            if self._total_after(conn, held, size) > self._max_total_bytes:
                conn.execute("DELETE FROM kv WHERE expires_at <= ?", (now,))
                held = self._held(conn, key)
                if self._total_after(conn, held, size) > self._max_total_bytes:
                    raise StoreFullError(self._total(conn), self._max_total_bytes, size)
            updated_at, expires_at = iso_utc(now), expiry_epoch(now, ttl)
            conn.execute(_UPSERT, (self._namespace, key, text, updated_at, expires_at, size))
        return StoredItem(key=key, value=decode_value(text), updated_at=updated_at, expires_at=expires_at)

    def get(self, key: str) -> StoredItem | None:
        validate_key(key)
        with self._connection() as conn:
            row = conn.execute(
                f"SELECT value, updated_at, expires_at FROM kv WHERE namespace = ? AND key = ? AND {_LIVE}",
                (self._namespace, key, self._clock()),
            ).fetchone()
        if row is None:
            return None
        text, updated_at, expires_at = row
        try:
            value = decode_value(text)
        except ValueError as exc:
            raise ToolError(f"the stored item {key!r} is damaged (its value is not JSON); store it again") from exc
        return StoredItem(key=key, value=value, updated_at=updated_at, expires_at=expires_at)

    def list_keys(self, prefix: str = "", limit: int = 100) -> tuple[list[str], bool]:
        validate_prefix(prefix)
        validate_limit(limit)
        with self._connection() as conn:
            # One beyond the limit tells whether the listing is truncated.
            rows = conn.execute(
                f"SELECT key FROM kv WHERE namespace = ? AND key >= ? AND key < ? AND {_LIVE} ORDER BY key LIMIT ?",
                (self._namespace, prefix, prefix + _AFTER_EVERY_KEY_CHARACTER, self._clock(), limit + 1),
            ).fetchall()
        keys = [key for (key,) in rows]
        return keys[:limit], len(keys) > limit

    def check(self) -> None:
        with self._connection() as conn:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version != SCHEMA_VERSION:
                raise ToolError(
                    f"the key/value store {str(self._path)!r} has schema version {version}; this code expects "
                    f"{SCHEMA_VERSION}"
                )
            conn.execute("SELECT 1 FROM kv LIMIT 1").fetchall()

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    @property
    def total_bytes(self) -> int:
        """Bytes of keys and values in the file (every namespace), expired ones included until purged."""
        with self._connection() as conn:
            return self._total(conn)

    # -- plumbing -------------------------------------------------------------------------------

    def _held(self, conn: sqlite3.Connection, key: str) -> tuple[int | None, int] | None:
        """``(expires_at, size)`` of the row under ``key``, live or not."""
        row = conn.execute(
            "SELECT expires_at, size FROM kv WHERE namespace = ? AND key = ?", (self._namespace, key)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def _total_after(self, conn: sqlite3.Connection, held: tuple[int | None, int] | None, size: int) -> int:
        """The file's bytes once the key holds ``size`` bytes (its current row, if any, freed)."""
        return self._total(conn) + size - (0 if held is None else held[1])

    @staticmethod
    def _total(conn: sqlite3.Connection) -> int:
        (total,) = conn.execute("SELECT bytes FROM kv_total").fetchone()
        return int(total)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._errors(), self._lock:
            if self._conn is None:
                raise ToolError("the key/value store is closed")
            yield self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            # IMMEDIATE takes the file's write lock before the first read, so no other process writes between
            # this transaction's check and its write.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _open(self) -> sqlite3.Connection:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ToolError(f"cannot create the directory for the key/value store {str(self._path)!r}: {exc}") from exc
        # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE), never implicitly.
        conn = sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                raise ToolError(f"the key/value store {str(self._path)!r} cannot use WAL mode (journal mode {mode})")
            # With WAL, NORMAL loses at most the last transactions on power loss, never consistency.
            conn.execute("PRAGMA synchronous = NORMAL")
            self._create_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        # In one IMMEDIATE transaction, so two processes opening a new file at once cannot both create it.
        conn.execute("BEGIN IMMEDIATE")
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise ToolError(
                    f"the key/value store {str(self._path)!r} has schema version {version}, newer than this "
                    f"code's {SCHEMA_VERSION}; upgrade this server rather than write to it"
                )
            if version == 0:
                for statement in SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        where = repr(str(self._path))
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            busy = "locked" in text or "busy" in text
            if busy:
                message = (
                    f"the key/value store is busy with another writer (waited {self._busy_timeout:g}s); "
                    "nothing was changed, try again"
                )
            elif "unable to open" in text:
                message = f"cannot open the key/value store {where} (check the path and its permissions)"
            else:
                message = f"the key/value store {where} failed: {text}"
            raise ToolError(message, retryable=busy) from exc
        except sqlite3.DatabaseError as exc:
            # "file is not a database", "database disk image is malformed", ...
            raise ToolError(f"the key/value store {where} is not a usable SQLite database: {exc}") from exc
        except sqlite3.Error as exc:
            raise ToolError(f"the key/value store {where} failed: {exc}") from exc


def _live(expires_at: int | None, now: float) -> bool:
    return expires_at is None or now < expires_at
