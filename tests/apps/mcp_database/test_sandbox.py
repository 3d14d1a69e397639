"""Queries, parameters, schema, limits and error messages of the read-only sandbox."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from apps.mcp_database.sandbox import DatabaseUnavailableError, QueryError, ReadOnlyDatabase


def test_a_plain_query(shared_database: ReadOnlyDatabase, sample_db: Path) -> None:
    result = shared_database.query("SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status")
    with closing(sqlite3.connect(sample_db)) as conn:
        expected = conn.execute("SELECT status, count(*) FROM orders GROUP BY status ORDER BY status").fetchall()
    assert result.columns == ["status", "n"]
    assert result.rows == [list(row) for row in expected]
    assert result.row_count == len(expected) == 6
    assert result.truncated is False
    assert result.elapsed_ms > 0


def test_a_join_with_aggregates(shared_database: ReadOnlyDatabase) -> None:
    result = shared_database.query(
        """
        SELECT p.category, sum(i.quantity * i.unit_price_cents) AS revenue_cents
        FROM order_items i JOIN products p ON p.id = i.product_id JOIN orders o ON o.id = i.order_id
        WHERE o.status = 'delivered'
        GROUP BY p.category ORDER BY revenue_cents DESC
        """
    )
    assert len(result.rows) == 8
    revenues = [row[1] for row in result.rows]
    assert revenues == sorted(revenues, reverse=True) and all(isinstance(value, int) for value in revenues)


def test_positional_numbered_and_named_parameters(shared_database: ReadOnlyDatabase) -> None:
    by_status = shared_database.query("SELECT count(*) FROM orders WHERE status = ? AND total_cents > ?", ["paid", 0])
    direct = shared_database.query("SELECT count(*) FROM orders WHERE status = 'paid' AND total_cents > 0")
    assert by_status.rows == direct.rows and by_status.rows[0][0] > 0
    assert shared_database.query("SELECT ?1, ?1 || ?2", ["a", "b"]).rows == [["a", "ab"]]
    assert shared_database.query("SELECT :name", {"name": "x"}).rows == [["x"]]
    assert shared_database.query("SELECT ?, ?, ?, ?", [True, None, 1.5, 2**62]).rows == [[1, None, 1.5, 2**62]]


def test_parameters_are_bound_not_interpolated(shared_database: ReadOnlyDatabase) -> None:
    injection = "x' OR '1'='1"
    assert shared_database.query("SELECT count(*) FROM customers WHERE email = ?", [injection]).rows == [[0]]
    assert shared_database.query("SELECT ?", ["1; DROP TABLE orders"]).rows == [["1; DROP TABLE orders"]]


@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        ("SELECT ?", [], "Incorrect number of bindings"),
        ("SELECT ?", [1, 2], "Incorrect number of bindings"),
        ("SELECT :a", {"b": 1}, "binding parameter :a"),
        ("SELECT ?", [2**70], "integers must fit in 64 bits"),
        ("SELECT ?101", [], "variable number must be between ?1 and ?100"),
    ],
)
def test_parameter_errors(
    shared_database: ReadOnlyDatabase, sql: str, params: list[object] | dict[str, object], expected: str
) -> None:
    with pytest.raises(QueryError) as error:
        shared_database.query(sql, params)  # type: ignore[arg-type]
    assert expected in str(error.value)


def test_row_cap_truncates(sample_db: Path) -> None:
    database = ReadOnlyDatabase(sample_db, max_rows=25)
    capped = database.query("SELECT id FROM orders ORDER BY id")
    assert capped.row_count == 25 and capped.truncated is True
    assert [row[0] for row in capped.rows] == list(range(1, 26))
    exact = database.query("SELECT id FROM orders ORDER BY id LIMIT 25")
    assert exact.row_count == 25 and exact.truncated is False


def test_default_row_cap_is_500(shared_database: ReadOnlyDatabase) -> None:
    result = shared_database.query("SELECT * FROM order_items")
    assert result.row_count == 500 and result.truncated is True and len(result.columns) == 5


def test_a_result_stops_growing_at_the_reply_budget(sample_db: Path) -> None:
    # Rows of ~1 kB: the budget, not the row cap, ends the result; what came back is a prefix.
    database = ReadOnlyDatabase(sample_db, max_reply_bytes=10_000)
    result = database.query("SELECT id, hex(zeroblob(500)) FROM orders ORDER BY id")
    assert result.truncated is True and 5 <= result.row_count < 10
    assert [row[0] for row in result.rows] == list(range(1, result.row_count + 1))
    with pytest.raises(QueryError, match="One row is over the 10,000-byte limit on a result; select fewer or shorter"):
        database.query("SELECT hex(zeroblob(6000))")


def test_deadline_stops_a_long_query(sample_db: Path) -> None:
    database = ReadOnlyDatabase(sample_db, deadline_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(QueryError) as error:
        database.query("SELECT count(*) FROM order_items a, order_items b, order_items c")
    elapsed = time.monotonic() - started
    assert "timed out after 0.2 s" in str(error.value) and "WHERE clause or LIMIT" in str(error.value)
    assert 0.2 <= elapsed < 5  # it ran until the deadline and was stopped there, not at the end of the join


def test_sql_length_limit(shared_database: ReadOnlyDatabase) -> None:
    at_limit = "SELECT 1" + " " * (10_000 - len("SELECT 1"))
    assert shared_database.query(at_limit).rows == [[1]]
    with pytest.raises(QueryError, match="10,001 characters; the limit is 10,000"):
        shared_database.query(at_limit + " ")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT x'00ff10'", "x'00ff10'"),
        ("SELECT randomblob(65)", "<blob: 65 bytes>"),
        ("SELECT 1e999", "Infinity"),
        ("SELECT -1e999", "-Infinity"),
        ("SELECT CAST(x'61ff62' AS TEXT)", "a\ufffdb"),  # invalid UTF-8 becomes a replacement character
    ],
)
def test_values_become_json_safe(shared_database: ReadOnlyDatabase, sql: str, expected: object) -> None:
    assert shared_database.query(sql).rows == [[expected]]


def test_lookup_pragmas_and_json_table_functions_work(shared_database: ReadOnlyDatabase) -> None:
    info = shared_database.query("PRAGMA table_info(order_items)")
    assert [row[1] for row in info.rows] == ["order_id", "line_no", "product_id", "quantity", "unit_price_cents"]
    as_function = shared_database.query("SELECT name FROM pragma_table_info('orders') WHERE pk = 1")
    assert as_function.rows == [["id"]]
    assert shared_database.query("SELECT sum(value) FROM json_each('[1, 2, 3]')").rows == [[6]]
    recursive = shared_database.query(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5) SELECT group_concat(x) FROM n"
    )
    assert recursive.rows == [["1,2,3,4,5"]]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELEC 1", 'SQL error: near "SELEC": syntax error.'),
        ("SELECT * FROM nowhere", "no such table: nowhere. Call get_schema"),
        ("SELECT colour FROM orders", "no such column: colour. Call get_schema with the table name"),
        ("   ", "The SQL is empty"),
        ("-- just a comment", "no statement that returns rows"),
        ("SELECT 1; SELECT 2", "Only one SQL statement per call"),
        ("SELECT 1\x00", "NUL character"),
        ("SELECT '\ud800'", "invalid Unicode (a lone surrogate)"),
    ],
)
def test_errors_say_how_to_fix_the_call(shared_database: ReadOnlyDatabase, sql: str, expected: str) -> None:
    with pytest.raises(QueryError) as error:
        shared_database.query(sql)
    assert expected in str(error.value)
    assert "Traceback" not in str(error.value)


def test_a_trailing_semicolon_and_comment_are_fine(shared_database: ReadOnlyDatabase) -> None:
    assert shared_database.query("SELECT 42; -- the answer").rows == [[42]]


def test_concurrent_calls_from_worker_threads(shared_database: ReadOnlyDatabase) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: shared_database.query("SELECT ? * 2", [n]).rows[0][0], range(32)))
    assert results == [n * 2 for n in range(32)]


def test_schema_of_every_table(shared_database: ReadOnlyDatabase, sample_db: Path) -> None:
    schema = shared_database.schema()
    assert [table.name for table in schema.tables] == ["customers", "order_items", "orders", "products"]
    with closing(sqlite3.connect(sample_db)) as conn:
        for table in schema.tables:
            assert table.type == "table"
            assert table.row_count == conn.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0]
            assert table.sql is not None and table.sql.startswith(f"CREATE TABLE {table.name}")


def test_schema_of_one_table(shared_database: ReadOnlyDatabase) -> None:
    (items,) = shared_database.schema("order_items").tables
    columns = {column.name: column for column in items.columns}
    assert list(columns) == ["order_id", "line_no", "product_id", "quantity", "unit_price_cents"]
    assert (columns["order_id"].primary_key, columns["line_no"].primary_key, columns["quantity"].primary_key) == (
        1,
        2,
        0,
    )
    assert columns["quantity"].type == "INTEGER" and columns["quantity"].nullable is False
    keys = {
        (tuple(key.columns), key.references_table, tuple(key.references_columns), key.on_delete)
        for key in items.foreign_keys
    }
    assert keys == {(("order_id",), "orders", ("id",), "CASCADE"), (("product_id",), "products", ("id",), "RESTRICT")}
    indexes = {index.name: index for index in items.indexes}
    assert indexes["idx_order_items_product_id"].columns == ["product_id"]
    assert indexes["idx_order_items_product_id"].unique is False
    assert indexes["sqlite_autoindex_order_items_1"].unique is True
    assert indexes["sqlite_autoindex_order_items_1"].columns == ["order_id", "line_no"]


def test_schema_columns_defaults_and_nullability(shared_database: ReadOnlyDatabase) -> None:
    (customers,) = shared_database.schema("CUSTOMERS").tables  # names are case-insensitive, as in SQL
    assert customers.name == "customers"
    columns = {column.name: column for column in customers.columns}
    assert columns["id"].nullable is False and columns["id"].primary_key == 1  # INTEGER PRIMARY KEY is the rowid
    assert columns["segment"].default == "'consumer'"
    assert columns["email"].default is None
    (orders,) = shared_database.schema("orders").tables
    assert {column.name for column in orders.columns if column.nullable} == {"shipped_at"}
    assert "CHECK (status IN ('pending'" in (orders.sql or "")
    assert any(index.columns == ["status", "ordered_at"] for index in orders.indexes)
    assert any(index.unique and index.columns == ["email"] for index in customers.indexes)


def test_schema_unknown_table_names_the_tables(shared_database: ReadOnlyDatabase) -> None:
    with pytest.raises(QueryError) as error:
        shared_database.schema("order")
    assert (
        str(error.value)
        == "Unknown table 'order'. Available tables and views: customers, order_items, orders, products."
    )


def test_schema_of_views_and_odd_names(db_file: Path) -> None:
    with closing(sqlite3.connect(db_file)) as conn:
        conn.execute("CREATE VIEW big_orders AS SELECT id, total_cents FROM orders WHERE total_cents > 50000")
        conn.execute(
            'CREATE TABLE "odd ""name""" (k TEXT PRIMARY KEY, v BLOB DEFAULT x\'00\', parent REFERENCES customers)'
        )
    database = ReadOnlyDatabase(db_file)
    (view,) = database.schema("big_orders").tables
    assert (view.type, view.row_count, [column.name for column in view.columns]) == (
        "view",
        None,
        ["id", "total_cents"],
    )
    assert [table.name for table in database.schema().tables][:3] == ["big_orders", "customers", 'odd "name"']
    (odd,) = database.schema('odd "name"').tables
    assert odd.name == 'odd "name"' and odd.row_count == 0
    assert [(column.name, column.type, column.nullable) for column in odd.columns] == [
        ("k", "TEXT", True),  # SQLite lets a non-integer primary key of a rowid table hold NULL
        ("v", "BLOB", True),
        ("parent", "", True),
    ]
    assert odd.foreign_keys[0].references_columns == ["id"]  # a bare REFERENCES means the parent's primary key
    assert [index.columns for index in odd.indexes] == [["k"]]


def test_check_accepts_the_sample(shared_database: ReadOnlyDatabase) -> None:
    shared_database.check()


def test_check_and_query_on_a_missing_file(tmp_path: Path) -> None:
    database = ReadOnlyDatabase(tmp_path / "absent.db")
    with pytest.raises(DatabaseUnavailableError, match=r"'absent\.db' does not exist"):
        database.check()
    with pytest.raises(DatabaseUnavailableError):
        database.query("SELECT 1")
    assert not (tmp_path / "absent.db").exists()  # read-only mode never creates the file


def test_a_database_locked_by_a_writer_is_worth_retrying(db_file: Path) -> None:
    with closing(sqlite3.connect(db_file, isolation_level=None)) as writer:
        writer.execute("BEGIN EXCLUSIVE")
        with pytest.raises(QueryError, match="locked") as error:
            ReadOnlyDatabase(db_file, deadline_seconds=0.2).query("SELECT count(*) FROM orders")
        writer.execute("ROLLBACK")
    assert error.value.retryable is True


def test_a_refused_query_is_not_worth_retrying(shared_database: ReadOnlyDatabase) -> None:
    with pytest.raises(QueryError) as error:
        shared_database.query("DELETE FROM orders")
    assert error.value.retryable is False


def test_check_rejects_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are notes, not a database" * 100)
    with pytest.raises(DatabaseUnavailableError, match="cannot be read: file is not a database"):
        ReadOnlyDatabase(path).check()
    with pytest.raises(DatabaseUnavailableError):
        ReadOnlyDatabase(path).query("SELECT 1")


def test_check_rejects_a_database_without_tables(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 1")  # writes the header, so the file is a valid database
    with pytest.raises(DatabaseUnavailableError, match="has no tables"):
        ReadOnlyDatabase(path).check()


def test_bad_limits_are_rejected(sample_db: Path) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        ReadOnlyDatabase(sample_db, max_rows=0)
