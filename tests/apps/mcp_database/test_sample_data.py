from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from apps.mcp_database import sample_data
from apps.mcp_database.sample_data import ORDER_STATUSES, PRODUCT_CATEGORIES, build_sample_database


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        yield conn


def scalar(conn: sqlite3.Connection, sql: str) -> Any:
    return conn.execute(sql).fetchone()[0]


def test_building_twice_gives_identical_bytes(sample_db: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one" / "a.db", tmp_path / "two" / "b.db"
    build_sample_database(first)
    build_sample_database(second)
    assert first.read_bytes() == second.read_bytes() == sample_db.read_bytes()
    assert len(first.read_bytes()) > 100_000  # a real database, not an empty file


def test_row_counts(sample_db: Path) -> None:
    with connect(sample_db) as conn:
        assert scalar(conn, "SELECT count(*) FROM customers") == 500
        assert scalar(conn, "SELECT count(*) FROM products") == 120
        assert scalar(conn, "SELECT count(*) FROM orders") == 2000
        items = scalar(conn, "SELECT count(*) FROM order_items")
        assert isinstance(items, int) and 5000 <= items <= 7000


def test_integrity_and_foreign_keys(sample_db: Path) -> None:
    with connect(sample_db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = """
            SELECT count(*) FROM order_items i
            LEFT JOIN orders o ON o.id = i.order_id LEFT JOIN products p ON p.id = i.product_id
            WHERE o.id IS NULL OR p.id IS NULL
        """
        assert scalar(conn, orphans) == 0
        missing_customer = (
            "SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL"
        )
        assert scalar(conn, missing_customer) == 0
        assert scalar(conn, "SELECT count(*) FROM orders WHERE id NOT IN (SELECT order_id FROM order_items)") == 0


def test_data_is_consistent_and_realistic(sample_db: Path) -> None:
    with connect(sample_db) as conn:
        mismatched_totals = """
            SELECT count(*) FROM orders o
            WHERE total_cents != (SELECT sum(quantity * unit_price_cents) FROM order_items WHERE order_id = o.id)
        """
        assert scalar(conn, mismatched_totals) == 0
        statuses = {row[0] for row in conn.execute("SELECT DISTINCT status FROM orders")}
        assert statuses == set(ORDER_STATUSES)
        categories = {row[0] for row in conn.execute("SELECT DISTINCT category FROM products")}
        assert categories == set(PRODUCT_CATEGORIES)
        assert scalar(conn, "SELECT count(DISTINCT email) FROM customers") == 500
        assert scalar(conn, "SELECT count(*) FROM customers WHERE email NOT GLOB '[a-z]*@*.*'") == 0
        assert scalar(conn, "SELECT count(DISTINCT country) FROM customers") >= 10
        # Orders fall inside the fixed window, after their customer signed up; shipping follows ordering.
        first, last = conn.execute("SELECT min(ordered_at), max(ordered_at) FROM orders").fetchone()
        assert "2023-01-01T00:00:00Z" <= first < "2023-02-01" and "2024-12-01" < last <= "2024-12-31T23:59:59Z"
        before_signup = (
            "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.ordered_at < c.created_at"
        )
        assert scalar(conn, before_signup) == 0
        assert scalar(conn, "SELECT count(*) FROM orders WHERE status = 'delivered' AND shipped_at IS NULL") == 0
        unshipped = (
            "SELECT count(*) FROM orders WHERE status IN ('pending', 'paid', 'cancelled') AND shipped_at IS NOT NULL"
        )
        assert scalar(conn, unshipped) == 0


def test_constraints_are_enforced(sample_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(sample_db.read_bytes())
    with connect(copy) as conn:
        for bad in (
            "UPDATE orders SET status = 'lost' WHERE id = 1",
            "UPDATE products SET unit_price_cents = 0 WHERE id = 1",
            "UPDATE customers SET email = 'not-an-email' WHERE id = 1",
            "UPDATE customers SET email = (SELECT email FROM customers WHERE id = 2) WHERE id = 1",
            "INSERT INTO orders (customer_id, status, ordered_at, shipping_country, total_cents) "
            "VALUES (99999, 'paid', '2024-01-01T00:00:00Z', 'US', 0)",
            "UPDATE order_items SET quantity = 0 WHERE order_id = 1",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(bad)


def test_schema_has_keys_and_indexes(sample_db: Path) -> None:
    with connect(sample_db) as conn:
        pk = [(row[1], row[5]) for row in conn.execute("PRAGMA table_info(order_items)") if row[5]]
        assert pk == [("order_id", 1), ("line_no", 2)]
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(orders)")}
        assert {"idx_orders_customer_id", "idx_orders_ordered_at", "idx_orders_status_ordered_at"} <= indexes
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN SELECT * FROM orders WHERE customer_id = 7"))
        assert "idx_orders_customer_id" in plan


def test_file_is_a_standalone_readable_database(sample_db: Path) -> None:
    header = sample_db.read_bytes()[:100]
    assert header.startswith(b"SQLite format 3\x00")
    assert header[18:20] == b"\x01\x01"  # rollback journal, not WAL: the file alone is the database
    assert [path.name for path in sample_db.parent.iterdir()] == ["sample.db"]  # no temp or journal left behind
    assert stat.S_IMODE(sample_db.stat().st_mode) == 0o644


def test_a_failed_build_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "shop.db"
    target.write_bytes(b"previous contents")

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (a)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO half_done VALUES (1)")  # an open transaction leaves a -journal file
        raise RuntimeError("disk full")

    monkeypatch.setattr(sample_data, "_populate", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build_sample_database(target)
    assert target.read_bytes() == b"previous contents"
    assert [path.name for path in tmp_path.iterdir()] == ["shop.db"]


def test_rebuilding_replaces_an_existing_file(sample_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "shop.db"
    target.write_bytes(b"stale")
    build_sample_database(target)
    assert target.read_bytes() == sample_db.read_bytes()


def test_cli_writes_the_database(sample_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "nested" / "cli.db"
    completed = subprocess.run(
        [sys.executable, "-m", "apps.mcp_database.sample_data", str(target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert "500 customers" in completed.stdout and "2000 orders" in completed.stdout
    assert target.read_bytes() == sample_db.read_bytes()


def test_cli_requires_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        sample_data.main([])
    assert exit_info.value.code == 2
    assert "path" in capsys.readouterr().err
