"""MCP servers: our kit against a bare SDK server and a stdlib ``http.server``, on the same tools.

Two tools, each at concurrency 1, 16 and 64: a small indexed query (``execute_query``: our database
server itself, the same sandbox under the bare SDK, and the same call in the stdlib server), where the
figure is mostly the server's own cost per call; and ``wait`` (20 ms of I/O), where it is how many
calls the server keeps in flight. Every request is a raw JSON-RPC ``tools/call`` POST on a kept-alive
connection (stateless servers need no ``initialize``); one server is driven at a time. The kit and the
SDK are measured in three alternating rounds and each figure is the round with the median throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apps.mcp_database.sample_data import build_sample_database
from benchmarks.http_load import LoadResult, mcp_headers, post, run_load, tool_call_ok
from benchmarks.processes import HOST, Server, base_env, serve
from benchmarks.results import Comparison, Plot

NAME = "mcp_servers"
CONCURRENCY = (1, 16, 64)
QUERY: dict[str, Any] = {"sql": "SELECT id, first_name, country FROM customers WHERE id = ?", "params": [7]}
WAIT_MS = 20
SUBJECTS = ("kit", "sdk", "stdlib")
# From profiling the database server against the bare SDK server (cProfile, 3,000 calls at concurrency 1).
FINDINGS = [
    "Fixed: the kit checked every call's arguments with jsonschema, ~60 us per valid `execute_query` call "
    "(a validator per subschema of its nested anyOf), the largest of the kit's own costs. "
    "`apps/common/fast_schema.py` now answers 'valid' in ~7 us for the schemas pydantic writes, and jsonschema "
    "still lists the problems when it says no.",
    "What the kit still adds per call, by profile: one JSON log line (a LogRecord, `JsonFormatter`, a write to "
    "stderr; the largest part), the metrics (a counter and a histogram per call, a counter per request), the "
    "result-size check (`json_size`, one `json.dumps` of the result) and a second Starlette layer (the kit's app "
    "mounts the SDK's app at /). The SDK baseline runs with its own request logging off.",
    "On this 2-core machine the load generator, the server and its worker threads share two cores: a single "
    "sample of the same server varies by up to 20 %, so kit and SDK are measured in alternating rounds and "
    "compared at the median; differences under ~10 % are within that noise.",
    "Since the first full run (+12.2 %), the reliability work added checks on every call: patterns matched the "
    "way pydantic reads them, dictionary keys and argument sizes checked before the schema walk, and an ASGI "
    "layer that turns the SDK's malformed-envelope answers into -32600. Later runs gave +17 % to +25 %: the "
    "≤ 10 % goal is missed, and profiling which of these checks costs most is left for a follow-up.",
    "The stdlib server serves one call at a time, so on the 20 ms tool it stays at ~48 calls/s whatever the "
    "concurrency, and its latency grows with the queue; its accept backlog was raised from 5 to 128 so that "
    "concurrency 64 measures the server, not SYN retransmissions.",
]


@dataclass(frozen=True)
class Plan:
    query_requests: int
    wait_requests: dict[int, int]
    max_seconds: float
    warmup: int
    rounds: int


FULL = Plan(query_requests=800, wait_requests={1: 100, 16: 800, 64: 1600}, max_seconds=8.0, warmup=40, rounds=3)
QUICK = Plan(query_requests=30, wait_requests={1: 5, 16: 32, 64: 64}, max_seconds=1.5, warmup=4, rounds=1)


def tool_call(name: str, arguments: Mapping[str, Any]) -> bytes:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    return json.dumps(message, separators=(",", ":")).encode()


def _servers(database: Path) -> dict[str, Callable[[], AbstractContextManager[Server]]]:
    """Each server process, by name; ``SUBJECTS`` says which serves which tool."""
    env = base_env(AGENTIC_DATABASE_PATH=str(database))
    target = "benchmarks.mcp_targets"
    db_args = ["--database", str(database)]
    return {
        "kit database": lambda: serve("apps.mcp_database", env=env),
        "kit lab": lambda: serve(target, ["kit"], env=env, ready_path="/health"),
        "sdk": lambda: serve(target, ["sdk", *db_args], env=env, ready_path=None),
        "stdlib": lambda: serve(target, ["stdlib", *db_args], env=env, ready_path=None),
    }


SERVES = {
    ("kit", "query"): "kit database",
    ("kit", "wait"): "kit lab",
    ("sdk", "query"): "sdk",
    ("sdk", "wait"): "sdk",
    ("stdlib", "query"): "stdlib",
    ("stdlib", "wait"): "stdlib",
}


def scenario(tool: str, concurrency: int) -> str:
    return f"{tool} c={concurrency}"


async def _measure(server: Server, tool: str, concurrency: int, plan: Plan) -> LoadResult:
    body = tool_call("execute_query", QUERY) if tool == "query" else tool_call("wait", {"ms": WAIT_MS})
    return await run_load(
        HOST,
        server.port,
        post(HOST, server.port, "/mcp", body, mcp_headers()),
        concurrency=concurrency,
        requests=plan.query_requests if tool == "query" else plan.wait_requests[concurrency],
        max_seconds=plan.max_seconds,
        check=tool_call_ok,
        warmup=plan.warmup,
    )


def run(quick: bool, scratch: Path) -> Comparison:
    plan = QUICK if quick else FULL
    comparison = Comparison(NAME, "MCP servers: our kit vs a bare SDK server vs a stdlib http.server", __doc__ or "")
    database = scratch / "sample.db"
    if not database.exists():
        build_sample_database(database)
    with contextlib.ExitStack() as stack:
        # All four run at once (idle ones cost nothing), so the kit and the SDK can be measured in
        # alternation: on a small shared machine one sample can be off by 20 %, and alternating rounds
        # with a median keep a slow moment from landing on one server only.
        servers = {name: stack.enter_context(start()) for name, start in _servers(database).items()}
        results: dict[tuple[str, str, int], list[LoadResult]] = {}
        for round_ in range(plan.rounds):
            for tool in ("query", "wait"):
                for concurrency in CONCURRENCY:
                    for subject in SUBJECTS:
                        if subject == "stdlib" and round_ > 0:
                            continue  # one thread serves one call at a time: its figures do not vary
                        server = servers[SERVES[(subject, tool)]]
                        result = asyncio.run(_measure(server, tool, concurrency, plan))
                        results.setdefault((subject, tool, concurrency), []).append(result)
    for (subject, tool, concurrency), rounds in results.items():
        median = sorted(rounds, key=lambda r: r.throughput)[len(rounds) // 2]
        comparison.add(subject, scenario(tool, concurrency), **median.values(), rounds=len(rounds))
    _figures(comparison)
    return comparison


def _figures(comparison: Comparison) -> None:
    for tool in ("query", "wait"):
        for concurrency in CONCURRENCY:
            where = scenario(tool, concurrency)
            comparison.compare("rps", "calls/s", "kit", where, "stdlib")
            comparison.compare("rps", "calls/s", "kit", where, "sdk")
            comparison.compare("p50_ms", "ms", "kit", where, "sdk", better="lower")
            comparison.compare("p99_ms", "ms", "kit", where, "sdk", better="lower")
    headline = comparison.compare("rps", "calls/s", "kit", scenario("wait", 16), "stdlib")
    comparison.goal(
        "kit throughput on the 20 ms tool at concurrency 16, x the stdlib server's",
        headline.ratio or 0.0,
        ">=",
        10.0,
        "x",
    )
    # The kit's cost over the SDK: how much more time per call it takes, where the server is the
    # bottleneck (concurrency 16, both tools) and where latency is (concurrency 1).
    costs = []
    for tool in ("query", "wait"):
        for concurrency in (1, 16):
            where = scenario(tool, concurrency)
            kit, sdk = comparison.value("kit", where, "rps"), comparison.value("sdk", where, "rps")
            costs.append((sdk / kit - 1) * 100 if kit > 0 else float("inf"))
    comparison.goal(
        "kit's cost over the bare SDK (worst of query and wait at concurrency 1 and 16; time per call)",
        max(costs),
        "<=",
        10.0,
        "%",
        note="per call, against the bare SDK; a negative figure would mean the kit is faster",
    )
    errors = sum(s.values["errors"] for s in comparison.samples if s.subject == "kit")
    comparison.goal("errors from our servers, every scenario", errors, "==", 0, "errors")
    comparison.notes += FINDINGS
    comparison.plots += [
        Plot("mcp_throughput.png", "MCP tools/call throughput", "rps", "calls/s", log_scale=True),
        Plot("mcp_p99.png", "MCP tools/call p99 latency", "p99_ms", "ms", log_scale=True),
    ]
