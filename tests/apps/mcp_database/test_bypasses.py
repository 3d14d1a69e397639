"""Known ways around a read-only SQL tool; each must fail and leave the database file byte-for-byte alone.

Every test runs on a private copy and compares its SHA-256 and the listing of its directory (a
-journal or -wal file would appear there) before and after.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from apps.mcp_database.sandbox import QueryError, ReadOnlyDatabase, _Guard
from tests.apps.mcp_database.conftest import FileState

READ_ONLY = "Only read-only SELECT statements are allowed"
Params = list[object] | dict[str, object] | None


def refusal(database: ReadOnlyDatabase, file_state: Callable[[], FileState], sql: str, params: Params = None) -> str:
    before = file_state()
    with pytest.raises(QueryError) as error:
        database.query(sql, params)  # type: ignore[arg-type]
    assert file_state() == before
    message = str(error.value)
    assert "Traceback" not in message
    return message


def order_count(database: ReadOnlyDatabase) -> int:
    value = database.query("SELECT count(*) FROM orders").rows[0][0]
    assert isinstance(value, int)
    return value


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("ATTACH DATABASE '{new}' AS other", None),
        ("ATTACH 'file:{new}?mode=rwc' AS other", None),
        ("ATTACH ? AS other", ["{new}"]),
        ("ATTACH '{new}' AS other", None),
    ],
)
def test_attach_a_new_file(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], tmp_path: Path, sql: str, params: list[str] | None
) -> None:
    new = tmp_path / "created-by-attach.db"
    message = refusal(
        database,
        file_state,
        sql.format(new=new),
        [param.format(new=new) for param in params] if params else None,
    )
    assert message.startswith("Refused: ATTACH") and READ_ONLY in message
    assert not new.exists()


def test_attach_the_database_itself_writably(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], db_file: Path
) -> None:
    message = refusal(database, file_state, f"ATTACH 'file:{db_file}?mode=rw' AS writable")
    assert message.startswith("Refused: ATTACH")


def test_query_only_off_then_a_write(database: ReadOnlyDatabase, file_state: Callable[[], FileState]) -> None:
    orders = order_count(database)
    message = refusal(database, file_state, "PRAGMA query_only = OFF")
    assert message.startswith("Refused: PRAGMA query_only") and "Readable PRAGMAs: foreign_key_list" in message
    message = refusal(database, file_state, "DELETE FROM orders")
    assert message.startswith("Refused: DELETE from orders")
    refusal(database, file_state, "PRAGMA query_only = 0; DELETE FROM orders")
    assert order_count(database) == orders == 2000


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("WITH x AS (SELECT 1) INSERT INTO customers (first_name) SELECT 'eve' FROM x", "INSERT into customers"),
        ("WITH x AS (SELECT id FROM orders) UPDATE orders SET total_cents = 0 WHERE id IN x", "UPDATE of orders"),
        ("WITH x AS (SELECT id FROM orders LIMIT 5) DELETE FROM orders WHERE id IN x", "DELETE from orders"),
        ("WITH x AS (SELECT 1) REPLACE INTO products (id, sku) SELECT 1, 'X' FROM x", "INSERT into products"),
        ("WITH RECURSIVE x(n) AS (SELECT 1) DELETE FROM order_items RETURNING *", "DELETE from order_items"),
        ("INSERT INTO orders SELECT * FROM orders WHERE 0 ON CONFLICT DO NOTHING", "INSERT into orders"),
    ],
)
def test_writes_inside_ctes_and_upserts(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], sql: str, refused: str
) -> None:
    message = refusal(database, file_state, sql)
    assert message.startswith(f"Refused: {refused}") and "Rewrite it as a single SELECT" in message


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("SELECT load_extension('/tmp/evil.so')", None),
        ("SELECT LOAD_EXTENSION(?, 'sqlite3_extension_init')", ["/tmp/evil"]),
        ("SELECT * FROM orders WHERE id = load_extension('libc.so.6')", None),
    ],
)
def test_load_extension(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], sql: str, params: list[object] | None
) -> None:
    assert refusal(database, file_state, sql, params).startswith("Refused: function load_extension")


def test_fts3_tokenizer_pointer_leak(database: ReadOnlyDatabase, file_state: Callable[[], FileState]) -> None:
    assert refusal(database, file_state, "SELECT fts3_tokenizer('simple')").startswith("Refused: function fts3")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; DELETE FROM orders",
        "SELECT 1; ATTACH 'x.db' AS x",
        "SELECT count(*) FROM orders; SELECT count(*) FROM customers",
        "SELECT 1;; ",
    ],
)
def test_several_statements_in_one_call(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], sql: str
) -> None:
    assert refusal(database, file_state, sql).startswith("Only one SQL statement per call is allowed")
    assert order_count(database) == 2000


def test_runaway_recursive_cte_stops_at_the_deadline(db_file: Path, file_state: Callable[[], FileState]) -> None:
    database = ReadOnlyDatabase(db_file, deadline_seconds=0.3)
    sql = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT max(n) FROM r"
    assert refusal(database, file_state, sql).startswith("The query timed out after 0.3 s")


def test_runaway_recursive_rows_stop_at_the_row_cap(database: ReadOnlyDatabase) -> None:
    result = database.query("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r")
    assert result.row_count == 500 and result.truncated is True and result.rows[-1] == [500]


def test_pathological_like_pattern_on_a_big_string(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState]
) -> None:
    big = "replace(hex(zeroblob(45000)), '0', 'a')"  # 90,000 characters, under the value cap
    # Too long a pattern is refused before matching starts.
    for operator, wildcard in (("LIKE", "%"), ("GLOB", "*")):
        long_pattern = f"'{wildcard}' || replace(hex(zeroblob(250)), '0', 'a') || 'b'"
        message = refusal(database, file_state, f"SELECT {big} {operator} {long_pattern}")
        assert message == "A LIKE or GLOB pattern is longer than 100 bytes; use a shorter pattern."
    # A many-wildcard pattern within the limit is answered (SQLite gives up early on hopeless matches).
    many_wildcards = "%a" * 45 + "b"
    assert database.query(f"SELECT {big} LIKE ?", [many_wildcards]).rows == [[0]]
    assert database.query(f"SELECT {big} GLOB ?", [many_wildcards.replace("%", "*")]).rows == [[0]]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT randomblob(2000000000)",
        "SELECT zeroblob(2000000000)",
        "SELECT hex(randomblob(600000))",
        "SELECT length(replace(replace(hex(zeroblob(45000)), '0', 'x'), 'x', 'xx'))",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r LIMIT 100000) SELECT group_concat(n) FROM r",
    ],
)
def test_memory_blow_ups_fail_cleanly(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], sql: str
) -> None:
    message = refusal(database, file_state, sql)
    assert message.startswith("A string or blob exceeded the 100,000-byte limit on single values")


@pytest.mark.parametrize("sql", ["SELECT printf('%.*c', 2000000000, 'x')", "SELECT format('%d', 1)"])
def test_printf_is_refused_because_one_call_can_outlast_the_deadline(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], sql: str
) -> None:
    message = refusal(database, file_state, sql)
    assert message.startswith("Refused: function printf: not available here") or message.startswith(
        "Refused: function format: not available here"
    )


@pytest.mark.parametrize("target", ["/tmp/x", "{tmp}/vacuumed.db"])
def test_vacuum_into(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], tmp_path: Path, target: str
) -> None:
    path = Path(target.format(tmp=tmp_path))
    existed = path.exists()
    message = refusal(database, file_state, f"VACUUM INTO '{path}'")
    assert message.startswith("Refused: ATTACH or VACUUM INTO")
    assert path.exists() == existed
    assert refusal(database, file_state, "VACUUM").startswith("Refused: ATTACH or VACUUM INTO")


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TEMP TABLE scratch (a)",
        "CREATE TEMP TABLE scratch AS SELECT * FROM customers",
        "CREATE TEMP VIEW v AS SELECT 1",
        "CREATE TEMP TRIGGER t AFTER INSERT ON orders BEGIN SELECT 1; END",
        "CREATE VIRTUAL TABLE temp.j USING json_each",
        "CREATE TABLE scratch (a)",
        "CREATE INDEX idx_new ON orders (shipping_country)",
        "DROP TABLE order_items",
        "DROP INDEX idx_orders_ordered_at",
        "ALTER TABLE orders ADD COLUMN note TEXT",
        "ALTER TABLE orders RENAME TO purchases",
    ],
)
def test_schema_changes_including_temp_objects(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], sql: str
) -> None:
    message = refusal(database, file_state, sql)
    assert message.startswith("Refused: ") and READ_ONLY in message


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("PRAGMA writable_schema = 1", "PRAGMA writable_schema"),
        ("PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = ''", "PRAGMA writable_schema"),
        ("UPDATE sqlite_master SET sql = 'CREATE TABLE orders (x)' WHERE name = 'orders'", READ_ONLY),
        ("PRAGMA journal_mode = WAL", "PRAGMA journal_mode"),
        ("PRAGMA main.user_version = 7", "PRAGMA user_version"),
        ("PRAGMA user_version", "PRAGMA user_version"),  # reads too: only the lookup list is allowed
        ("SELECT * FROM pragma_journal_mode", "schema change or virtual table"),
        ("SELECT * FROM dbstat", "schema change or virtual table"),
        ("BEGIN IMMEDIATE", "transaction control BEGIN"),
        ("SAVEPOINT s1", "SAVEPOINT"),
        ("ANALYZE", "ANALYZE"),
        ("REINDEX", "REINDEX"),
        ("DETACH main", "DETACH"),
    ],
)
def test_pragmas_and_other_statements(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], sql: str, refused: str
) -> None:
    assert refused in refusal(database, file_state, sql)


def test_the_authorizer_alone_stops_writes_on_a_writable_connection(
    db_file: Path, file_state: Callable[[], FileState]
) -> None:
    # Defence in depth: even without mode=ro and the limits, the authorizer refuses every write.
    before = file_state()
    with closing(sqlite3.connect(db_file, isolation_level=None)) as conn:
        guard = _Guard()
        conn.set_authorizer(guard)
        for sql in (
            "DELETE FROM orders",
            "WITH x AS (SELECT 1) UPDATE customers SET email = 'x'",
            "PRAGMA query_only = OFF",
            "PRAGMA writable_schema = 1",
            f"ATTACH '{db_file.parent / 'other.db'}' AS other",
            f"VACUUM INTO '{db_file.parent / 'copy.db'}'",
            "CREATE TEMP TABLE t (a)",
            "DROP TABLE orders",
        ):
            with pytest.raises(sqlite3.DatabaseError, match=r"not authorized|authorization denied"):
                conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2000,)
    assert len(guard.refused) == 8
    assert file_state() == before


def test_without_the_authorizer_mode_ro_and_limits_still_hold(
    database: ReadOnlyDatabase, file_state: Callable[[], FileState], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defence in depth, the other way round: with an authorizer that allows everything, the read-only
    # open and SQLITE_LIMIT_ATTACHED = 0 still keep the file unchanged and no other file is created.
    monkeypatch.setattr(_Guard, "__call__", lambda *_: sqlite3.SQLITE_OK)
    new = tmp_path / "new.db"
    for sql in (
        f"ATTACH '{new}' AS other",
        f"VACUUM INTO '{new}'",
        "DELETE FROM orders",
        "WITH x AS (SELECT 1) UPDATE customers SET email = 'x'",
        "CREATE TABLE scratch (a)",
    ):
        assert refusal(database, file_state, sql) == (
            "Only read-only SELECT statements are allowed: writes, ATTACH, schema changes and PRAGMA assignments "
            "are refused. Rewrite it as a single SELECT."
        )
    assert not new.exists()
    assert order_count(database) == 2000
