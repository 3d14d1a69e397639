"""A SQL compile bomb against the database server as deployed: a process, over HTTP, through the official MCP client.

The query is about 1 KB: 29 CTEs, each joining the previous one with itself, so SQLite's compile step
doubles in time and memory per level. SQLite's progress handler (the 2 s deadline inside the engine)
only runs during execution, so when queries ran in the server's threads this call compiled until the
tool's 30 s timeout gave up on it, and the thread went on compiling while the server passed 4 GB
(at 18 levels: 6.7 s and 703 MB). Now SQL runs in worker processes that are killed at the deadline.

Memory is read from /proc for the server and every process under it (the fork server, the workers):
the sum of PSS (each shared page divided among the processes sharing it), since the workers share
most of their pages with the fork server and a sum of RSS would count those pages several times.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.apps.mcp_database.conftest import compile_bomb
from tests.support.processes import RunningService, run_service
from tests.support.servers import mcp_client

BOMB_LEVELS = 29
MEMORY_CEILING_MB = 300
SERVER_GROWTH_MB = 50


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def process_tree(pid: int) -> list[int]:
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children(current))
    return tree


def workers(server_pid: int) -> set[int]:
    """The SQL workers: the fork server's children (the server's own children are the fork server and
    multiprocessing's resource tracker, which has none)."""
    return {worker for child in children(server_pid) for worker in children(child)}


def memory_kb(pid: int, file: str, field: str) -> int:
    try:
        lines = Path(f"/proc/{pid}/{file}").read_text().splitlines()
    except OSError:  # exited since it was listed
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith(field + ":")), 0)


def tree_pss_mb(pid: int) -> float:
    return sum(memory_kb(member, "smaps_rollup", "Pss") for member in process_tree(pid)) / 1024


def rss_mb(pid: int) -> float:
    return memory_kb(pid, "status", "VmRSS") / 1024


def alive(pid: int) -> bool:
    """Running, not a zombie (a killed server's children are reparented, and may wait to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for_workers(server_pid: int, *, replacing_one_of: set[int] | None = None, seconds: float = 20) -> set[int]:
    """Two live workers; with ``replacing_one_of``, exactly one of those must have been replaced."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = {pid for pid in workers(server_pid) if alive(pid)}
        if len(current) == 2 and (replacing_one_of is None or len(replacing_one_of - current) == 1):
            return current
        time.sleep(0.05)
    raise AssertionError(f"expected two workers (one replacing one of {replacing_one_of}), found {workers(server_pid)}")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    def start(**env: str) -> Any:
        return run_service(
            "apps.mcp_database",
            {"AGENTIC_DATABASE_PATH": str(tmp_path / "shop.db"), **env},
            log_path=tmp_path / "database.log",
        )

    yield start


def call(server: RunningService, sql: str) -> tuple[Any, float]:
    """The tool's result and the seconds from sending the request to its answer."""

    async def scenario() -> tuple[Any, float]:
        async with mcp_client(server.url + "/mcp", "2026-07-28") as client:
            started = time.monotonic()
            result = await client.call_tool("execute_query", {"sql": sql})
            return result, time.monotonic() - started

    return anyio.run(scenario)


def test_a_compile_bomb_is_answered_within_the_deadline_and_memory_stays_flat(start_server: Any) -> None:
    deadline = 2.0
    with start_server(AGENTIC_QUERY_TIMEOUT_SECONDS=str(deadline)) as server:
        pid = server.process.pid
        before = wait_for_workers(pid)
        server_rss = rss_mb(pid)
        result, elapsed = call(server, compile_bomb(BOMB_LEVELS))
        print(f"compile bomb answered in {elapsed:.3f} s: {result.content[0].text[:120]}")
        assert result.is_error is True
        assert elapsed <= deadline + 1.0, elapsed
        assert "needed more memory than this server allows" in result.content[0].text
        wait_for_workers(pid, replacing_one_of=before)  # the worker that met SQLite's heap limit retired
        pss = tree_pss_mb(pid)
        print(f"after: server RSS {rss_mb(pid):.0f} MB (was {server_rss:.0f}), whole tree PSS {pss:.0f} MB")
        assert pss < MEMORY_CEILING_MB
        assert rss_mb(pid) - server_rss < SERVER_GROWTH_MB
        answer, _ = call(server, "SELECT count(*) AS n FROM orders")
        assert answer.is_error is False and answer.structured_content["rows"] == [[2000]]


def test_a_worker_still_compiling_at_the_deadline_is_killed_and_replaced(start_server: Any) -> None:
    # Memory limits high enough that SQLite's heap limit cannot stop the compile first: only the kill can.
    deadline = 1.0
    env = {"AGENTIC_QUERY_TIMEOUT_SECONDS": str(deadline), "AGENTIC_QUERY_WORKER_MEMORY_MB": "4096"}
    with start_server(**env) as server:
        pid = server.process.pid
        before = wait_for_workers(pid)
        result, elapsed = call(server, compile_bomb(BOMB_LEVELS))
        print(f"compile bomb answered in {elapsed:.3f} s: {result.content[0].text[:120]}")
        assert result.is_error is True
        assert result.content[0].text.endswith(
            "The query timed out after 1.0 s and was stopped; add a WHERE clause or LIMIT, "
            "or aggregate over fewer rows."
        )
        assert elapsed <= deadline + 1.0, elapsed
        wait_for_workers(pid, replacing_one_of=before)  # the killed one, and a new one in its place
        metrics = httpx.get(server.url + "/metrics", timeout=10).text
        assert 'database_query_workers_replaced_total{reason="deadline"} 1.0' in metrics
        pss = tree_pss_mb(pid)
        print(f"after: whole tree PSS {pss:.0f} MB")
        assert pss < MEMORY_CEILING_MB
        answer, _ = call(server, "SELECT count(*) AS n FROM orders")
        assert answer.is_error is False and answer.structured_content["rows"] == [[2000]]


def test_workers_do_not_outlive_a_killed_server(start_server: Any) -> None:
    with start_server() as server:
        pid = server.process.pid
        tree = set(process_tree(pid)) - {pid}
        assert len(wait_for_workers(pid)) == 2
        os.kill(pid, signal.SIGKILL)  # no shutdown: the workers see their socket close
        server.process.wait(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(alive(member) for member in tree):
            time.sleep(0.05)
        assert not [member for member in tree if alive(member)]
