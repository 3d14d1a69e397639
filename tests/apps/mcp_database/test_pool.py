"""The process sandbox: SQL runs in worker processes that are killed at the deadline, compile included.

These start real worker processes (multiprocessing's forkserver) and drive them through
``SandboxedDatabase`` on asyncio, as the server does. Waits are on conditions with generous bounds;
the only time assertions are loose ones that separate "stopped at the deadline" from "ran the
minutes a compile bomb takes".
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from apps.common.tools import ToolError
from apps.mcp_database.pool import ReplaceReason, SandboxedDatabase
from apps.mcp_database.sandbox import QueryError, ReadOnlyDatabase
from tests.apps.mcp_database.conftest import compile_bomb, worker_limits

pytestmark = pytest.mark.anyio

BOMB = compile_bomb(29)  # in-thread, this compiled for minutes and took gigabytes
RUNAWAY = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT max(n) FROM r"
SMALL = "SELECT id, first_name FROM customers WHERE id = ?"


@asynccontextmanager
async def sandbox(path: Path, replaced: Counter[str] | None = None, **options: Any) -> AsyncIterator[SandboxedDatabase]:
    limit_options = {key: options.pop(key) for key in ("deadline_seconds", "max_rows", "memory_mb") if key in options}

    def count(reason: ReplaceReason) -> None:
        if replaced is not None:
            replaced[reason] += 1

    async with SandboxedDatabase(worker_limits(path, **limit_options), on_replace=count, **options) as database:
        yield database


async def wait_for(condition: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    with anyio.fail_after(seconds):
        while not condition():
            await anyio.sleep(0.01)
    assert condition(), what


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_results_and_errors_are_the_engines(sample_db: Path) -> None:
    engine = ReadOnlyDatabase(sample_db, max_reply_bytes=400_000)
    calls: list[tuple[str, list[Any] | None]] = [
        ("SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status", None),
        (SMALL, [7]),
        ("SELECT ?1, ?2, ?3, ?4, ?5, ?1 || 'é'", ["a", True, None, 1.5, 2**62]),
        ("SELECT x'00ff', randomblob(65) IS NOT NULL, 1e999, CAST(x'61ff62' AS TEXT)", None),
        ("SELECT * FROM order_items", None),  # truncated at 500 rows
    ]
    async with sandbox(sample_db) as database:
        for sql, params in calls:
            ours = (await database.query(sql, params)).model_dump(exclude={"elapsed_ms"})
            assert ours == engine.query(sql, params).model_dump(exclude={"elapsed_ms"}), sql
        assert await database.schema() == engine.schema()
        assert await database.schema("orders") == engine.schema("orders")
        await database.check()
        for sql, params in [
            ("DELETE FROM orders", None),
            ("SELECT '\ud800'", None),  # a lone surrogate crosses the socket and is refused by the engine
            ("SELECT ?", [2**70]),
            ("SELECT * FROM nowhere", None),
            ("SELECT 1; SELECT 2", None),
            ("PRAGMA hard_heap_limit = 0", None),  # a query cannot lift the worker's heap limit
        ]:
            with pytest.raises(ToolError) as ours_error:
                await database.query(sql, params)
            with pytest.raises(QueryError) as engine_error:
                engine.query(sql, params)
            assert str(ours_error.value) == str(engine_error.value)
        with pytest.raises(ToolError, match="Unknown table 'order'"):
            await database.schema("order")


async def test_a_missing_file_is_reported_as_unavailable(tmp_path: Path) -> None:
    async with sandbox(tmp_path / "absent.db") as database:
        with pytest.raises(ToolError, match=r"'absent\.db' does not exist; try again later"):
            await database.query("SELECT 1")
        with pytest.raises(ToolError, match="does not exist"):
            await database.check()
    assert not (tmp_path / "absent.db").exists()


async def test_workers_run_under_their_limits(sample_db: Path) -> None:
    async with sandbox(sample_db, memory_mb=300) as database:
        await database.query("SELECT 1")  # arms the CPU limit on whichever worker ran it
        limits = {pid: Path(f"/proc/{pid}/limits").read_text() for pid in database.worker_pids()}
    assert len(limits) == 2 and os.getpid() not in limits
    for text in limits.values():
        rows = {line[:26].strip(): line[26:].split() for line in text.splitlines()[1:]}
        assert rows["Max address space"][:2] == [str(300 * 1024 * 1024)] * 2
        assert rows["Max core file size"][:2] == ["0", "0"]
    cpu = [limits[pid].split("Max cpu time")[1].split()[0] for pid in limits]
    assert any(value != "unlimited" for value in cpu), cpu  # the worker that ran the query


async def test_a_compile_bomb_meets_sqlites_heap_limit_and_its_worker_is_replaced(sample_db: Path) -> None:
    """SQLite's hard heap limit is process-wide and makes allocations fail once reached
    (https://sqlite.org/c3ref/hard_heap_limit64.html); Python raises MemoryError for the NOMEM, which the engine
    answers. The worker's peak memory grew, so it retires and a fresh one takes its place."""
    replaced: Counter[str] = Counter()
    async with sandbox(sample_db, replaced) as database:
        before = database.worker_pids()
        started = time.monotonic()
        with pytest.raises(ToolError, match="needed more memory than this server allows"):
            await database.query(BOMB)
        assert time.monotonic() - started < database.deadline_seconds + 5
        await wait_for(lambda: len(database.worker_pids()) == 2, "a replacement worker")
        assert replaced == {"retired": 1}
        assert len(set(before) - set(database.worker_pids())) == 1
        expected = ReadOnlyDatabase(sample_db).query(SMALL, [7]).rows
        assert (await database.query(SMALL, [7])).rows == expected


async def test_the_deadline_kills_a_worker_that_is_still_compiling(sample_db: Path) -> None:
    # Memory limits high enough that only the kill can stop the compile (it grows ~300 MB a second).
    replaced: Counter[str] = Counter()
    async with sandbox(sample_db, replaced, deadline_seconds=0.3, memory_mb=4096) as database:
        before = set(database.worker_pids())
        started = time.monotonic()
        with pytest.raises(ToolError) as error:
            await database.query(BOMB)
        elapsed = time.monotonic() - started
        assert str(error.value).startswith("The query timed out after 0.3 s and was stopped")
        assert elapsed < 0.3 + 5, elapsed  # the compile alone would take minutes
        assert replaced == {"deadline": 1}
        (killed,) = before - set(database.worker_pids())
        await wait_for(lambda: not alive(killed), "the killed worker to be gone")
        await wait_for(lambda: len(database.worker_pids()) == 2, "a replacement worker")
        assert (await database.query("SELECT count(*) FROM orders")).rows == [[2000]]


async def test_other_calls_are_answered_while_a_worker_compiles(sample_db: Path) -> None:
    answered: list[int] = []
    async with sandbox(sample_db, deadline_seconds=1.0, memory_mb=4096) as database, anyio.create_task_group() as tasks:

        async def bomb() -> None:
            with pytest.raises(ToolError, match="timed out"):
                await database.query(BOMB)

        tasks.start_soon(bomb)
        await wait_for(lambda: database.idle_workers == 1, "the bomb to take a worker")
        for n in range(20):
            answered.append((await database.query("SELECT ? * 2", [n])).rows[0][0])
        # All twenty came back from the other worker before the bomb's deadline.
        assert database.idle_workers == 1
    assert answered == [n * 2 for n in range(20)]


async def test_a_saturated_pool_refuses_with_a_clear_error_worth_retrying(sample_db: Path) -> None:
    async with sandbox(sample_db, workers=1, queue_limit=1, queue_seconds=0.3, deadline_seconds=3.0) as database:
        outcomes: dict[str, str] = {}
        retryable: dict[str, bool] = {}

        async def call(name: str, sql: str) -> None:
            try:
                await database.query(sql)
                outcomes[name] = "answered"
            except ToolError as exc:
                outcomes[name] = str(exc)
                retryable[name] = exc.retryable

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(call, "runaway", RUNAWAY)
            await wait_for(lambda: database.idle_workers == 0, "the runaway query to take the only worker")
            tasks.start_soon(call, "queued", "SELECT 1")
            await wait_for(lambda: database.waiting_calls == 1, "the second call to wait")
            await call("refused", "SELECT 2")
            assert outcomes["refused"] == (
                "The database is busy: all 1 query workers are in use and 1 calls are already waiting. "
                "Try again in a few seconds, or with a cheaper query."
            )
        assert "none came free within 0.3 s" in outcomes["queued"]
        assert outcomes["runaway"].startswith("The query timed out after 3.0 s")
        # Busy passes; a query past its deadline would do the same work again.
        assert retryable == {"refused": True, "queued": True, "runaway": False}
        assert (await database.query("SELECT 3")).rows == [[3]]


async def test_a_worker_killed_from_outside_is_replaced(sample_db: Path) -> None:
    replaced: Counter[str] = Counter()
    async with sandbox(sample_db, replaced) as database:
        victim = database.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        await wait_for(lambda: not alive(victim), "the worker to die")
        # Whichever worker each call gets, every call is answered; the dead one is replaced on sight.
        for n in range(6):
            assert (await database.query("SELECT ?", [n])).rows == [[n]]
        await wait_for(lambda: len(database.worker_pids()) == 2 and victim not in database.worker_pids(), "respawn")
        assert replaced == {"exited": 1}


async def test_a_call_cancelled_from_outside_does_not_leave_its_worker_busy(sample_db: Path) -> None:
    replaced: Counter[str] = Counter()
    async with sandbox(sample_db, replaced, workers=1, deadline_seconds=5.0) as database:
        before = database.worker_pids()
        with anyio.move_on_after(0.3) as scope:
            await database.query(RUNAWAY)
        assert scope.cancelled_caught
        # The runaway would have held that worker for 5 s and then answered into the next call.
        assert replaced == {"interrupted": 1}
        await wait_for(lambda: len(database.worker_pids()) == 1, "a replacement worker")
        assert database.worker_pids() != before
        assert (await database.query("SELECT 'next'")).rows == [["next"]]


async def test_leaving_the_context_kills_every_worker(sample_db: Path) -> None:
    async with sandbox(sample_db, workers=3) as database:
        pids = database.worker_pids()
        assert len(pids) == 3 and all(alive(pid) for pid in pids)
    assert not any(alive(pid) for pid in pids)


def test_bad_pool_settings_are_rejected(sample_db: Path) -> None:
    with pytest.raises(ValueError, match="workers must be at least 1"):
        SandboxedDatabase(worker_limits(sample_db), workers=0)
