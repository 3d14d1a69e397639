"""What only the SQLite store has: a file that outlives the store, shared by processes, with its own failures.

The contract it shares with the other backends is in test_kv_contract.py."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from apps.common.tools import ToolError
from apps.mcp_custom.kv_sqlite import SCHEMA_VERSION, SqliteKeyValueStore
from apps.mcp_custom.kv_store import KeyExistsError
from tests.apps.mcp_custom.kv_backends import FakeClock, race_creates

RACE_KEYS = 200


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_values_outlive_the_store_that_wrote_them(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "nested" / "kv.db"  # the directory is created too
    first = SqliteKeyValueStore(path, clock=clock)
    first.create("notes/1", {"a": [1, "b"]})
    first.create("session", "v", ttl_seconds=10)
    held = first.total_bytes
    first.close()

    again = SqliteKeyValueStore(path, clock=clock)
    got = again.get("notes/1")
    assert got is not None and (got.value, got.updated_at) == ({"a": [1, "b"]}, "2023-11-14T22:13:20.000Z")
    assert again.list_keys() == (["notes/1", "session"], False)
    with pytest.raises(KeyExistsError):
        again.create("notes/1", "overwritten")
    assert again.total_bytes == held
    clock.now += 10
    assert again.list_keys() == (["notes/1"], False)
    again.close()


def test_namespaces_share_the_file_and_its_bound_but_not_their_keys(tmp_path: Path) -> None:
    blue = SqliteKeyValueStore(tmp_path / "kv.db", "blue", max_total_bytes=1000)
    green = SqliteKeyValueStore(tmp_path / "kv.db", "green", max_total_bytes=1000)
    blue.create("shared", "x" * 592)  # 6 + 594 bytes
    assert green.get("shared") is None
    assert green.list_keys() == ([], False)
    green.create("shared", "green's")
    got = blue.get("shared")
    assert got is not None and got.value == "x" * 592
    # The bound protects the machine's disk, so it counts the whole file.
    with pytest.raises(ToolError, match="it holds 615 of its 1000 bytes"):
        green.replace("other", "x" * 400)


def test_the_total_is_the_sum_of_what_the_file_holds(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "kv.db"
    store = SqliteKeyValueStore(path, max_total_bytes=4300, clock=clock)
    for i in range(20):
        store.create(f"k/{i}", "é" * i, ttl_seconds=5 if i % 3 else None)
    store.replace("k/1", {"bigger": "x" * 50})
    store.replace("k/2", 1)
    clock.now += 5
    # 544 bytes held, 310 of them expired; this needs 4007 more, so the expired rows are deleted to make room.
    store.replace("k/big", "x" * 4000)
    with sqlite3.connect(path) as conn:
        (actual,) = conn.execute(
            "SELECT sum(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))) FROM kv"
        ).fetchone()
        (rows,) = conn.execute("SELECT count(*) FROM kv").fetchone()
    assert store.total_bytes == actual
    assert store.total_bytes == 234 + 4007
    assert rows == len(store.list_keys(limit=1000)[0]) == 10  # k/0, 1, 2, 3, 6, 9, 12, 15, 18 and k/big
    store.close()


def test_two_processes_creating_the_same_keys_have_exactly_one_winner_each(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a second server would be
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=race_creates, args=(str(path), worker, RACE_KEYS, barrier, results)) for worker in (1, 2)
    ]
    for worker in workers:
        worker.start()
    won = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert won[1] and won[2], "one worker won every key: the workers did not race"
    assert set(won[1]).isdisjoint(won[2])
    assert sorted(won[1] + won[2]) == list(range(RACE_KEYS))
    store = SqliteKeyValueStore(path)
    for worker, keys in won.items():
        for i in keys:
            got = store.get(f"race/{i}")
            assert got is not None and got.value == worker
    print(f"wins: worker 1 {len(won[1])}, worker 2 {len(won[2])}")
    store.close()


def test_a_writer_held_up_by_another_process_fails_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    store = SqliteKeyValueStore(path, busy_timeout=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction, left open
    try:
        with pytest.raises(ToolError, match=r"busy with another writer \(waited 0.2s\); nothing was changed") as caught:
            store.create("k", 1)
        assert caught.value.retryable is True
        assert store.list_keys() == ([], False)  # readers are not held up in WAL mode
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.create("k", 1)
    store.close()


def test_a_file_that_is_not_a_database_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    path.write_bytes(b"not a database, just text " * 100)
    with pytest.raises(ToolError, match=r"kv.db' is not a usable SQLite database"):
        SqliteKeyValueStore(path)


def test_a_file_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    SqliteKeyValueStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ToolError, match=f"schema version {SCHEMA_VERSION + 1}, newer than this code's"):
        SqliteKeyValueStore(path)


def test_a_closed_store_refuses_calls_and_is_not_ready(tmp_path: Path) -> None:
    store = SqliteKeyValueStore(tmp_path / "kv.db")
    store.check()
    store.close()
    store.close()  # twice is harmless
    calls: tuple[Callable[[], object], ...] = (store.check, lambda: store.get("k"), lambda: store.create("k", 1))
    for call in calls:
        with pytest.raises(ToolError, match="the key/value store is closed"):
            call()
