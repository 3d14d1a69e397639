"""MCP servers: our kit against a bare SDK server and a stdlib ``http.server``, on the same tools.

Two tools, each at concurrency 1, 16 and 64: a small indexed query (``execute_query``: our database
server itself, the same sandbox under the bare SDK, and the same call in the stdlib server), where the
figure is mostly the server's own cost per call; and ``wait`` (20 ms of I/O), where it is how many
calls the server keeps in flight. Every request is a raw JSON-RPC ``tools/call`` POST on a kept-alive
connection (stateless servers need no ``initialize``); one server is driven at a time. The kit and the
SDK are measured side by side in five rounds (who goes first alternates); each figure is the round with the
median throughput, and the kit's cost over the SDK is the median of the per-round pairs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
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
PAIRED = ("kit", "sdk")
SUBJECTS = (*PAIRED, "stdlib")
# From profiling the database server against the bare SDK server (cProfile, 3,000 calls at concurrency 1),
# and from switching the kit's parts off one at a time in process (a no-op tool over ASGI, 7 rounds each).
FINDINGS = [
    "Fixed: the kit checked every call's arguments with jsonschema, ~60 us per valid `execute_query` call "
    "(a validator per subschema of its nested anyOf), the largest of the kit's own costs. "
    "`apps/common/fast_schema.py` now answers 'valid' in ~7 us for the schemas pydantic writes, and jsonschema "
    "still lists the problems when it says no.",
    "Fixed after profiling the reliability checks: the kit mounted the SDK's whole Starlette app at /, so each "
    "call passed two middleware stacks and two routers; the SDK's /mcp endpoint is now a route of the kit's app. "
    "The guard cached nothing per tool: it now keeps its labelled metric children and its JSON encoders (a "
    "json.dumps with options builds an encoder per call) and no longer rebuilds the set of argument names. The "
    "guard alone went from ~40 to ~34 us per call in isolation.",
    "What the kit still adds per call, by switching its parts off one at a time on a no-op tool (in process, "
    "where the bare SDK takes ~430 us per call): the JSON log line ~55 us (a LogRecord, `JsonFormatter`, a "
    "flushed write to stderr), the result-size check ~45 us with the result's conversion to a dict, the "
    "argument checks ~28 us, the metrics ~25 us, the timeout's cancel scope ~20 us; ~110 us together, "
    "against ~35 us when the guard is timed alone (the full stack runs colder in the caches). Each is one "
    "of the platform's rules (every call logged and counted, arguments checked, a deadline, a bounded "
    "result), so they stay.",
    "So the ≤ 10 % goal is met where a tool does work: on `execute_query` (~1.3 ms per call in the SDK) the kit "
    "adds ~110 us, +5 % to +11 % in three runs of the same code (once +19 % at concurrency 1). It is missed where "
    "the tool does nothing and the server's CPU is the bottleneck (the 20 ms sleep at concurrency 16-64: +5 % to "
    "+16 % in the same three runs): there the SDK's own cost per call is ~0.6 ms and the kit's fixed ~0.1 ms "
    "shows in full.",
    "On this 2-core machine the load generator, the server and its worker threads share two cores: a single "
    "sample of the same server varies by up to 20 %. Kit and SDK are therefore measured side by side in five "
    "rounds (who goes first alternates), and the cost is the median of the per-round pairs; the same code "
    "still gave query c=1 +19 % in one run and +8 % in the next two, so single figures under ~10 % are noise.",
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


FULL = Plan(query_requests=800, wait_requests={1: 100, 16: 800, 64: 1600}, max_seconds=8.0, warmup=40, rounds=5)
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
                    # Who goes first alternates, so neither the kit nor the SDK always meets a warmer machine.
                    for subject in (*(PAIRED if round_ % 2 == 0 else PAIRED[::-1]), "stdlib"):
                        if subject == "stdlib" and round_ > 0:
                            continue  # one thread serves one call at a time: its figures do not vary
                        server = servers[SERVES[(subject, tool)]]
                        result = asyncio.run(_measure(server, tool, concurrency, plan))
                        results.setdefault((subject, tool, concurrency), []).append(result)
    for (subject, tool, concurrency), rounds in results.items():
        median = sorted(rounds, key=lambda r: r.throughput)[len(rounds) // 2]
        comparison.add(subject, scenario(tool, concurrency), **median.values(), rounds=len(rounds))
    _figures(comparison, _paired_costs(results))
    return comparison


def _paired_costs(results: dict[tuple[str, str, int], list[LoadResult]]) -> dict[str, float]:
    """The kit's cost over the SDK per scenario, in % of time per call: the median over rounds of the two
    samples taken side by side in each round. A slow moment of the machine then moves both samples of
    its pair, instead of landing in one subject's median only."""
    costs = {}
    for tool in ("query", "wait"):
        for concurrency in CONCURRENCY:
            pairs = zip(results[("kit", tool, concurrency)], results[("sdk", tool, concurrency)], strict=True)
            per_round = [
                (sdk.throughput / kit.throughput - 1) * 100 if kit.throughput > 0 else float("inf")
                for kit, sdk in pairs
            ]
            costs[scenario(tool, concurrency)] = statistics.median(per_round)
    return costs


def _figures(comparison: Comparison, paired_costs: dict[str, float]) -> None:
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
    costs = [paired_costs[scenario(tool, concurrency)] for tool in ("query", "wait") for concurrency in (1, 16)]
    comparison.notes.append(
        "The kit's cost over the SDK per scenario (time per call, median of the per-round pairs): "
        + ", ".join(f"{where} {cost:+.1f} %" for where, cost in paired_costs.items())
        + "."
    )
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
