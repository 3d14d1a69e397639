"""Read-only, bounded SQL over one SQLite file, enforced by SQLite itself rather than by reading the SQL.

This is the engine; the server runs it only inside worker processes (``worker.py``), which the
server kills at the deadline whatever SQLite is doing (``pool.py``), because the guards below cannot
stop SQLite while it compiles a statement. Every call opens a fresh connection with these layers,
each of which alone stops a write:

- the file is opened with ``mode=ro``, so the pager refuses to write it;
- an authorizer allows only SELECT, column reads, non-dangerous functions, recursive CTEs and a few
  lookup PRAGMAs; every write, ATTACH (also what VACUUM INTO uses), DDL, transaction statement and
  other PRAGMA is denied while the statement is being compiled, before anything runs;
- ``SQLITE_LIMIT_ATTACHED`` is 0, so no other file can be opened even if ATTACH were allowed.

And these bound the work: a deadline checked by the progress handler, a cap on any single string
or blob (``randomblob(2e9)`` fails instead of allocating), on SQL length, LIKE pattern length and
bound parameters, and a row cap. The deadline is checked between VM instructions, so a single call
of a built-in runs to its end first. Two built-ins could make one call long: ``instr``/``replace``
on two values near the size cap (O(n·m): about 5 s at 1 MB, 0.04 s at the 100 kB default), and
SQLite 3.40's ``printf('%.*c', N, 'x')``, which loops N times after giving up (about 8 s at N = 2e9)
— so ``printf`` and its alias ``format`` are refused; a model formats values in its answer instead.
A result also stops growing at ``max_reply_bytes`` (about), and running out of SQLite's heap limit
(set per worker process, see ``worker.py``) is answered like any other refusal.

Every anticipated failure raises ``QueryError`` whose message says how to correct the call;
``DatabaseUnavailableError`` (a ``QueryError``) means the file itself cannot be read. They are not the
kit's ``ToolError``, which would import the MCP SDK into every worker (measured: importing the worker
took 2.2 s and 66 MB with it, 0.8 s and 33 MB without); the pool turns a refusal into a ``ToolError``
with the same ``retryable``.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from apps.mcp_database import schema_reader
from apps.mcp_database.models import QueryResult, SchemaResult

__all__ = ["DatabaseUnavailableError", "QueryError", "ReadOnlyDatabase"]

Param = str | int | float | bool | bytes | None

_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
# These take a table or index name as their argument and only report; a PRAGMA that sets anything
# (query_only, writable_schema, journal_mode...) is not on the list whatever its argument.
LOOKUP_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"})
# Built-ins that reach outside the database or expose pointers (fts3_tokenizer returns one);
# the shell-only file functions are listed in case an extension ever provides them.
DENIED_FUNCTIONS = frozenset(
    {"load_extension", "fts3_tokenizer", "fts5", "readfile", "writefile", "edit", "zipfile", "sqlar_uncompress"}
    | {"printf", "format"}  # one call can outlast the deadline, see above
)
# Creating an eponymous virtual table (json_each, pragma_table_info) is authorized as an UPDATE of
# sqlite_master, once per connection. Touching them before the authorizer is installed lets queries
# use them while the authorizer keeps refusing every write without exception.
_WARM_UP = (
    "SELECT 1 FROM json_each, json_tree, pragma_table_info, pragma_table_xinfo, pragma_index_list,"
    " pragma_index_info, pragma_index_xinfo, pragma_foreign_key_list LIMIT 0"
)
_PROGRESS_STEPS = 1000  # VM instructions between deadline checks: ~microseconds, negligible overhead
_HEX_BLOB_BYTES = 64

_ACTION_NAMES = {
    sqlite3.SQLITE_INSERT: "INSERT into",
    sqlite3.SQLITE_UPDATE: "UPDATE of",
    sqlite3.SQLITE_DELETE: "DELETE from",
    sqlite3.SQLITE_ATTACH: "ATTACH or VACUUM INTO",
    sqlite3.SQLITE_DETACH: "DETACH",
    sqlite3.SQLITE_PRAGMA: "PRAGMA",
    sqlite3.SQLITE_FUNCTION: "function",
    sqlite3.SQLITE_TRANSACTION: "transaction control",
    sqlite3.SQLITE_SAVEPOINT: "SAVEPOINT",
    sqlite3.SQLITE_ANALYZE: "ANALYZE",
    sqlite3.SQLITE_REINDEX: "REINDEX",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
    sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE",
    sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE",
}

# Every DDL statement writes SQLite's catalogue; so does starting a virtual table (see _WARM_UP).
_CATALOG_CHANGES = {
    sqlite3.SQLITE_INSERT: "CREATE (a schema change)",
    sqlite3.SQLITE_DELETE: "DROP (a schema change)",
    sqlite3.SQLITE_UPDATE: "schema change or virtual table (only json_each, json_tree and pragma_* lookups work)",
}

REFUSED = (
    "Only read-only SELECT statements are allowed: writes, ATTACH, schema changes and PRAGMA assignments "
    "are refused. Rewrite it as a single SELECT."
)


class QueryError(Exception):
    """A call the engine refuses or cannot answer; the message tells a model what to change.

    ``retryable``: the same call may succeed later (the database was busy); false when it would fail again.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class DatabaseUnavailableError(QueryError):
    """The database file is missing, unreadable or not a database; no query can succeed.

    Retryable: it is this replica's fault, not the call's, and readiness takes the replica out of service,
    so a later attempt may reach one that can read its file.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class _Guard:
    """The authorizer: decides each action while SQLite compiles a statement, and remembers refusals."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
        if action in _ALLOWED_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() not in DENIED_FUNCTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in LOOKUP_PRAGMAS:
            return sqlite3.SQLITE_OK
        self.refused.append(_describe(action, arg1, arg2))
        return sqlite3.SQLITE_DENY


def _describe(action: int, arg1: str | None, arg2: str | None) -> str:
    name = _ACTION_NAMES.get(action)
    if action == sqlite3.SQLITE_FUNCTION:
        return f"function {arg2}"
    if action in (sqlite3.SQLITE_PRAGMA, sqlite3.SQLITE_TRANSACTION):
        return f"{name} {arg1}"
    if action in (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE) and arg1:
        if arg1 in ("sqlite_master", "sqlite_temp_master"):
            return _CATALOG_CHANGES[action]
        return f"{name} {arg1}"
    return name or "schema change (CREATE, DROP or similar)"


class _Deadline:
    """The progress handler: tells SQLite to stop once the call has run out of time."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False

    def __call__(self) -> int:
        if time.monotonic() >= self.at:
            self.expired = True
        return int(self.expired)


class ReadOnlyDatabase:
    """Queries and schema of one SQLite file, never writing it and never running past the deadline."""

    def __init__(
        self,
        path: Path,
        *,
        deadline_seconds: float = 2.0,
        max_rows: int = 500,
        max_sql_length: int = 10_000,
        max_value_bytes: int = 100_000,
        max_like_pattern_bytes: int = 100,
        max_params: int = 100,
        max_reply_bytes: int = 4_000_000,
    ) -> None:
        if min(deadline_seconds, max_rows, max_sql_length, max_value_bytes, max_reply_bytes) <= 0:
            raise ValueError(
                "deadline_seconds, max_rows, max_sql_length, max_value_bytes and max_reply_bytes must be positive"
            )
        self.path = Path(path)
        self.deadline_seconds = deadline_seconds
        self.max_rows = max_rows
        self.max_sql_length = max_sql_length
        self.max_value_bytes = max_value_bytes
        self.max_like_pattern_bytes = max_like_pattern_bytes
        self.max_params = max_params
        self.max_reply_bytes = max_reply_bytes

    def query(self, sql: str, params: Sequence[Param] | Mapping[str, Param] | None = None) -> QueryResult:
        """Run one read-only statement with bound parameters; at most ``max_rows`` rows come back."""
        if len(sql) > self.max_sql_length:
            raise QueryError(
                f"The SQL is {len(sql):,} characters; the limit is {self.max_sql_length:,}. "
                "Shorten it, e.g. pass long values as params."
            )
        if not sql.strip():
            raise QueryError("The SQL is empty; send one SELECT statement.")
        started = time.perf_counter()
        with self._session() as (conn, guard, deadline):
            try:
                cursor = conn.execute(sql, params if params is not None else ())
                if cursor.description is None:
                    raise QueryError("The SQL contains no statement that returns rows; send one SELECT statement.")
                columns = [str(column[0]) for column in cursor.description]
                rows, truncated = self._collect(cursor)
            except (sqlite3.Error, OverflowError, UnicodeEncodeError, MemoryError) as exc:
                raise self._translate(exc, guard, deadline) from exc
        return QueryResult(
            columns=columns,
            rows=rows,
            row_count=len(rows),
            truncated=truncated,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _collect(self, cursor: sqlite3.Cursor) -> tuple[list[list[Any]], bool]:
        """Up to ``max_rows`` rows and about ``max_reply_bytes`` of them, row by row: never more in memory."""
        rows: list[list[Any]] = []
        size = 0
        for row in cursor:
            if len(rows) == self.max_rows:
                return rows, True
            converted = [_json_safe(value) for value in row]
            size += _approximate_size(converted)
            if size > self.max_reply_bytes:
                if not rows:
                    raise QueryError(
                        f"One row is over the {self.max_reply_bytes:,}-byte limit on a result; select fewer or "
                        "shorter columns, e.g. substr(column, 1, 1000)."
                    )
                return rows, True
            rows.append(converted)
        return rows, False

    def schema(self, table: str | None = None) -> SchemaResult:
        """Tables and views with columns, keys, indexes and row counts; one table when ``table`` is given."""
        with self._session() as (conn, guard, deadline):
            try:
                objects = schema_reader.list_objects(conn)
                if table is not None:
                    wanted = [entry for entry in objects if entry.name.lower() == table.lower()]
                    if not wanted:
                        available = ", ".join(entry.name for entry in objects) or "(none)"
                        raise QueryError(f"Unknown table {table!r}. Available tables and views: {available}.")
                    objects = wanted
                return SchemaResult(tables=[schema_reader.describe(conn, entry) for entry in objects])
            except (sqlite3.Error, MemoryError) as exc:
                raise self._translate(exc, guard, deadline) from exc

    def check(self) -> None:
        """Readiness: raise ``DatabaseUnavailableError`` unless the file opens read-only and has tables."""
        with self._session() as (conn, _, _):
            try:
                tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            except sqlite3.Error as exc:
                raise DatabaseUnavailableError(f"database file {self.path.name!r} cannot be read: {exc}") from exc
        if not tables:
            raise DatabaseUnavailableError(f"database file {self.path.name!r} has no tables")

    @contextmanager
    def _session(self) -> Iterator[tuple[sqlite3.Connection, _Guard, _Deadline]]:
        deadline = _Deadline(self.deadline_seconds)
        # Checked first because mode=ro cannot create the file but a missing one is the likeliest fault.
        if not self.path.is_file():
            raise DatabaseUnavailableError(f"database file {self.path.name!r} does not exist; try again later.")
        uri = f"{self.path.resolve().as_uri()}?mode=ro"  # as_uri percent-encodes '?', '#' and spaces
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=self.deadline_seconds)
        except sqlite3.Error as exc:
            raise DatabaseUnavailableError(f"database file {self.path.name!r} cannot be opened: {exc}") from exc
        with closing(conn):
            guard = self._lock_down(conn, deadline)
            yield conn, guard, deadline

    def _lock_down(self, conn: sqlite3.Connection, deadline: _Deadline) -> _Guard:
        # Run-time limits per connection (https://sqlite.org/c3ref/c_limit_attached.html, https://sqlite.org/limits.html);
        # they bound what a statement may build, not how long it compiles: that is the worker's kill (pool.py).
        for limit, value in (
            (sqlite3.SQLITE_LIMIT_ATTACHED, 0),
            (sqlite3.SQLITE_LIMIT_LENGTH, self.max_value_bytes),
            (sqlite3.SQLITE_LIMIT_SQL_LENGTH, self.max_sql_length * 4),  # characters may take 4 bytes in UTF-8
            (sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, self.max_like_pattern_bytes),
            (sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, self.max_params),
            (sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 200),
            (sqlite3.SQLITE_LIMIT_COMPOUND_SELECT, 100),
            (sqlite3.SQLITE_LIMIT_WORKER_THREADS, 0),
        ):
            conn.setlimit(limit, value)
        # Invalid UTF-8 in a TEXT value must not fail the whole query.
        conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
        try:
            conn.execute(_WARM_UP).fetchall()
        except sqlite3.Error as exc:
            raise DatabaseUnavailableError(f"database file {self.path.name!r} cannot be read: {exc}") from exc
        guard = _Guard()
        conn.set_authorizer(guard)
        conn.set_progress_handler(deadline, _PROGRESS_STEPS)
        return guard

    def _translate(self, exc: Exception, guard: _Guard, deadline: _Deadline) -> QueryError:
        """Turn an engine error into a message that tells a model what to change; never a traceback."""
        message = str(exc).rstrip(".")
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if guard.refused:
            refused = ", ".join(dict.fromkeys(guard.refused))
            hint = ""
            if any(item.startswith("PRAGMA") for item in guard.refused):
                hint = f" Readable PRAGMAs: {', '.join(sorted(LOOKUP_PRAGMAS))}."
            if all(item.startswith("function ") for item in guard.refused):
                return QueryError(
                    f"Refused: {refused}: not available here. Select the raw values and format them in your answer."
                )
            return QueryError(f"Refused: {refused}. {REFUSED}{hint}")
        if code == sqlite3.SQLITE_INTERRUPT and deadline.expired:
            return QueryError(
                f"The query timed out after {self.deadline_seconds:.1f} s and was stopped; add a WHERE clause or "
                "LIMIT, or aggregate over fewer rows."
            )
        # The layers under the authorizer: the read-only pager, the catalogue's own guard, the ATTACH limit.
        if code == sqlite3.SQLITE_READONLY or "may not be modified" in message or "too many attached" in message:
            return QueryError(REFUSED)
        if code == sqlite3.SQLITE_TOOBIG:
            return QueryError(
                f"A string or blob exceeded the {self.max_value_bytes:,}-byte limit on single values; select "
                "smaller pieces, e.g. substr(column, 1, 1000), or aggregate fewer rows."
            )
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return QueryError("The database is busy; try the same query again in a moment.", retryable=True)
        if code == sqlite3.SQLITE_NOMEM or isinstance(exc, MemoryError):  # Python raises MemoryError for NOMEM
            return QueryError(
                "The query needed more memory than this server allows and was stopped; simplify it (fewer joins, "
                "fewer references to each CTE or view), or select fewer rows or smaller values."
            )
        if code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_IOERR):
            return DatabaseUnavailableError(f"The database cannot be read: {message}.")
        if isinstance(exc, OverflowError):
            return QueryError("Parameter error: integers must fit in 64 bits; pass larger numbers as text.")
        if isinstance(exc, UnicodeEncodeError):  # JSON may carry lone surrogates, which UTF-8 cannot encode
            return QueryError("The SQL or a parameter contains invalid Unicode (a lone surrogate); remove it.")
        if "null character" in message:
            return QueryError("The SQL contains a NUL character; remove it or pass the value as a parameter.")
        if "one statement at a time" in message:
            return QueryError(
                "Only one SQL statement per call is allowed; send each statement in its own call "
                "(a trailing semicolon is fine)."
            )
        if isinstance(exc, sqlite3.InterfaceError) or "binding" in message or "too many SQL variables" in message:
            return QueryError(
                f"Parameter error: {message}. Pass one value in params per ? placeholder "
                f"(at most {self.max_params}); ?1, ?2... reuse a value."
            )
        if "LIKE or GLOB pattern too complex" in message:
            return QueryError(
                f"A LIKE or GLOB pattern is longer than {self.max_like_pattern_bytes} bytes; use a shorter pattern."
            )
        if code == sqlite3.SQLITE_INTERRUPT:
            return QueryError("The query was interrupted; try again.", retryable=True)
        return QueryError(f"SQL error: {message}.{_hint(message)}")


def _hint(message: str) -> str:
    if message.startswith("no such table"):
        return " Call get_schema without arguments to list the tables."
    if message.startswith("no such column"):
        return " Call get_schema with the table name to list its columns."
    return ""


def _approximate_size(row: list[Any]) -> int:
    """About the row's size in JSON, cheaply: text by its length, anything else as a short number."""
    return sum(len(value) + 3 if isinstance(value, str) else 12 for value in row) + 2


def _json_safe(value: Any) -> Any:
    """SQLite gives None, int, float, str or bytes; JSON has no bytes and no infinities."""
    if isinstance(value, bytes):
        return f"x'{value.hex()}'" if len(value) <= _HEX_BLOB_BYTES else f"<blob: {len(value)} bytes>"
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value
