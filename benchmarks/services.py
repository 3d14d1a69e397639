"""Services: start-to-ready time, idle memory and memory under load, each service started alone.

Budgets from the containers' requests: idle RSS ≤ 128 MB, ready ≤ 2.5 s after the process starts.
The baseline is the smallest Starlette app on uvicorn (``benchmarks.stubs hello``): what Python and
the web stack cost before any of our code. Loaded RSS is the peak while 16 clients call the service
(``tools/list`` on the MCP servers, a query on the database server, one-step workflows on the agent
core) and shows what per-request buffers and caches add.

``python -m benchmarks.services`` prints the table alone; ``python -m benchmarks`` includes it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from pathlib import Path

from benchmarks.core_harness import load_runs
from benchmarks.http_load import mcp_headers, post, run_load, tool_call_ok
from benchmarks.mcp_servers import QUERY, tool_call
from benchmarks.processes import HOST, Server, base_env, serve
from benchmarks.results import Comparison, Plot

NAME = "services"
SERVICES = {
    "aws": "apps.mcp_aws",
    "database": "apps.mcp_database",
    "custom": "apps.mcp_custom",
    "kubernetes": "apps.mcp_kubernetes",
    "agent-core": "apps.agent_core",
}
BASELINE = "hello"
RSS_BUDGET_MB = 128
READY_BUDGET_SECONDS = 2.5


def _list_tools_ok(status: int, body: bytes) -> bool:
    return status == 200 and b'"tools"' in body


async def _peak_rss_during(server: Server, work: Awaitable[object]) -> float:
    """The highest RSS seen (every 20 ms) while ``work`` runs."""
    peak = server.rss_mb()
    task = asyncio.ensure_future(work)
    while not task.done():
        peak = max(peak, server.rss_mb())
        await asyncio.sleep(0.02)
    await task
    return max(peak, server.rss_mb())


def _mcp_load(tool: str | None, requests: int) -> Callable[[Server], Awaitable[object]]:
    def start(server: Server) -> Awaitable[object]:
        if tool is None:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
            check = _list_tools_ok
        else:
            body, check = tool_call(tool, QUERY), tool_call_ok
        request = post(HOST, server.port, "/mcp", body, mcp_headers())
        return run_load(HOST, server.port, request, concurrency=16, requests=requests, max_seconds=20, check=check)

    return start


def _hello_load(requests: int) -> Callable[[Server], Awaitable[object]]:
    def start(server: Server) -> Awaitable[object]:
        request = f"GET /health HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n\r\n".encode()
        return run_load(
            HOST, server.port, request, concurrency=16, requests=requests, max_seconds=20, check=lambda s, _: s == 200
        )

    return start


def _core_load(runs: int) -> Callable[[Server], Awaitable[object]]:
    body = {"workflow": {"name": "load", "steps": [{"id": "q", "tool": "database.execute_query", "arguments": QUERY}]}}

    def start(server: Server) -> Awaitable[object]:
        return load_runs(server, body, concurrency=16, runs=runs, max_seconds=30)

    return start


def measure(comparison: Comparison, name: str, runs: int, settle: float, requests: int, scratch: Path) -> None:
    module, args = ("benchmarks.stubs", ["hello"]) if name == BASELINE else (SERVICES[name], [])
    env = base_env(
        AGENTIC_DATABASE_PATH=str(scratch / "sample.db"),
        AGENTIC_LOG_LEVEL="WARNING",
        AGENTIC_STATE=f"sqlite:///{scratch / 'runs.db'}",
    )
    load = {
        BASELINE: _hello_load(requests),
        "database": _mcp_load("execute_query", requests),
        "agent-core": _core_load(requests // 4),
    }.get(name, _mcp_load(None, requests))
    ready: list[float] = []
    idle: list[float] = []
    loaded = 0.0
    # The agent core is loaded with workflows, so it needs an MCP server to call.
    beside: AbstractContextManager[Server | None] = (
        serve("apps.mcp_database", env=env) if name == "agent-core" else contextlib.nullcontext()
    )
    with beside as database:
        if database is not None:
            env["AGENTIC_MCP_SERVERS"] = f"database={database.url}/mcp"
        for attempt in range(runs):
            with serve(module, args, env=env) as server:
                ready.append(server.seconds_to_ready)
                time.sleep(settle)
                idle.append(server.rss_mb())
                if attempt == runs - 1:
                    loaded = asyncio.run(_peak_rss_during(server, load(server)))
    comparison.add(name, "start", ready_s=statistics.median(ready), ready_max_s=max(ready))
    comparison.add(name, "idle", rss_mb=statistics.median(idle), rss_max_mb=max(idle))
    comparison.add(name, "loaded", rss_mb=loaded)


def run(quick: bool, scratch: Path) -> Comparison:
    comparison = Comparison(NAME, "Services: start-to-ready time and memory", __doc__ or "")
    runs, settle, requests = (1, 0.2, 32) if quick else (3, 1.0, 600)
    for name in (BASELINE, *SERVICES):
        measure(comparison, name, runs, settle, requests, scratch)
    for name in SERVICES:
        comparison.compare("ready_s", "s", name, "start", BASELINE, better="lower")
        comparison.compare("rss_mb", "MB", name, "idle", BASELINE, better="lower")
        comparison.compare("rss_mb", "MB", name, "loaded", name, "idle", better="lower")
    comparison.goal(
        "idle RSS, worst service (budget 128 MB)",
        max(comparison.value(name, "idle", "rss_max_mb") for name in SERVICES),
        "<=",
        RSS_BUDGET_MB,
        "MB",
    )
    comparison.goal(
        "start-to-ready, worst service and run (budget 2.5 s)",
        max(comparison.value(name, "start", "ready_max_s") for name in SERVICES),
        "<=",
        READY_BUDGET_SECONDS,
        "s",
    )
    comparison.plots += [
        Plot("services_rss.png", "Resident memory, idle and under load", "rss_mb", "MB", scenarios=["idle", "loaded"]),
        Plot("services_ready.png", "Start to ready", "ready_s", "s", scenarios=["start"]),
    ]
    return comparison


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        comparison = run(args.quick, Path(scratch))
    print("| service | ready (s) | idle RSS (MB) | loaded RSS (MB) |\n|---|---|---|---|")
    for name in (BASELINE, *SERVICES):
        print(
            f"| {name} | {comparison.value(name, 'start', 'ready_s'):.2f} "
            f"| {comparison.value(name, 'idle', 'rss_mb'):.1f} | {comparison.value(name, 'loaded', 'rss_mb'):.1f} |"
        )
    return 0 if all(goal.met for goal in comparison.goals) else 1


if __name__ == "__main__":
    sys.exit(main())
