"""The MCP endpoint: what ``/api/mcp`` adds per tool call, and the peers users would pick instead.

- Overhead: the lab server's read-only ``echo`` called directly over MCP, through the agent core's ``/api/mcp``
  (``lab__echo``: journaled as a one-step run, audited, metered, behind the breaker), and through IBM's
  ContextForge gateway proxying the same server (``lab-echo``, its default mode: JWT auth, stateless HTTP).
  Sequential calls (concurrency 1) in alternating rounds; what a gateway adds is its p50 minus the direct
  p50 of the same round, and the figure is the median over rounds.
- Servers: the same ``echo`` and ``wait`` (20 ms) tools on our kit and on FastMCP, calls/s at concurrency 1
  and 16, in alternating rounds as well.

Every request is a raw JSON-RPC ``tools/call`` POST on a kept-alive connection (all three speak stateless
Streamable HTTP). The peers run from virtualenvs of their own (``benchmarks.peers``); ``--quick`` leaves them
out, and a peer that is not installed is left out with the reason in the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import peers
from benchmarks.core_harness import platform
from benchmarks.http_load import LoadResult, mcp_headers, percentile, post, run_load, tool_call_ok
from benchmarks.processes import HOST, Server
from benchmarks.results import Comparison, Plot

NAME = "mcp_endpoint"
ECHO = {"text": "bench"}
WAIT_MS = 20
GOAL_MS = 2.0


@dataclass(frozen=True)
class Plan:
    overhead_calls: int
    server_calls: dict[int, int]
    rounds: int
    warmup: int
    max_seconds: float


FULL = Plan(overhead_calls=400, server_calls={1: 400, 16: 1600}, rounds=5, warmup=40, max_seconds=20.0)
QUICK = Plan(overhead_calls=20, server_calls={1: 10, 16: 32}, rounds=1, warmup=4, max_seconds=5.0)


@dataclass(frozen=True)
class Target:
    """Where one subject answers ``tools/call``, and the name it gives the tool."""

    server: Server
    path: str
    prefix: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def request(self, tool: str, arguments: dict[str, Any]) -> bytes:
        params = {"name": f"{self.prefix}{tool}", "arguments": arguments}
        message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
        body = json.dumps(message, separators=(",", ":")).encode()
        return post(HOST, self.server.port, self.path, body, {**mcp_headers(), **dict(self.headers)})


async def _load(target: Target, tool: str, concurrency: int, calls: int, plan: Plan) -> LoadResult:
    arguments = ECHO if tool == "echo" else {"ms": WAIT_MS}
    return await run_load(
        HOST,
        target.server.port,
        target.request(tool, arguments),
        concurrency=concurrency,
        requests=calls,
        max_seconds=plan.max_seconds,
        check=tool_call_ok,
        warmup=plan.warmup,
    )


def _values(result: LoadResult) -> dict[str, float]:
    return {**result.values(), "p95_ms": percentile(result.latencies_ms, 95)}


def _median_round(rounds: list[LoadResult], key: Callable[[LoadResult], float]) -> LoadResult:
    return sorted(rounds, key=key)[len(rounds) // 2]


def _overhead(comparison: Comparison, targets: dict[str, Target], plan: Plan) -> None:
    """Direct vs through each gateway, sequential calls, in alternating rounds."""
    samples: dict[str, list[LoadResult]] = {name: [] for name in targets}
    for round_ in range(plan.rounds):
        order = list(targets) if round_ % 2 == 0 else list(targets)[::-1]
        for name in order:
            samples[name].append(asyncio.run(_load(targets[name], "echo", 1, plan.overhead_calls, plan)))
    for name, rounds in samples.items():
        comparison.add(name, "echo c=1", **_values(_median_round(rounds, lambda r: r.p50_ms)), rounds=len(rounds))
    for name in targets:
        if name == "direct":
            continue
        pairs = list(zip(samples[name], samples["direct"], strict=True))
        added = {
            "p50_ms": statistics.median(via.p50_ms - direct.p50_ms for via, direct in pairs),
            "p95_ms": statistics.median(
                percentile(via.latencies_ms, 95) - percentile(direct.latencies_ms, 95) for via, direct in pairs
            ),
        }
        comparison.add(name, "added per call", **added)


def _servers(comparison: Comparison, targets: dict[str, Target], plan: Plan) -> None:
    """Our kit vs FastMCP on the same tools; the kit's ratio is the median of the per-round ratios."""
    scenarios = [("echo", 1), ("echo", 16), ("wait", 16)]
    samples: dict[tuple[str, str], list[LoadResult]] = {}
    for round_ in range(plan.rounds):
        order = list(targets) if round_ % 2 == 0 else list(targets)[::-1]
        for tool, concurrency in scenarios:
            for name in order:
                result = asyncio.run(_load(targets[name], tool, concurrency, plan.server_calls[concurrency], plan))
                samples.setdefault((name, f"{tool} c={concurrency}"), []).append(result)
    for (name, scenario), rounds in samples.items():
        comparison.add(name, scenario, **_values(_median_round(rounds, lambda r: r.throughput)), rounds=len(rounds))
    ratios = {
        scenario: statistics.median(
            kit.throughput / fast.throughput if fast.throughput else float("nan")
            for kit, fast in zip(samples[("kit", scenario)], samples[("fastmcp", scenario)], strict=True)
        )
        for scenario in (f"{tool} c={concurrency}" for tool, concurrency in scenarios)
    }
    for scenario in ratios:
        comparison.compare("rps", "calls/s", "kit", scenario, "fastmcp")
    comparison.notes.append(
        "Our kit's calls/s over FastMCP's, median of the per-round ratios: "
        + ", ".join(f"{scenario} {ratio:.2f}x" for scenario, ratio in ratios.items())
        + "."
    )
    comparison.goal(
        "kit calls/s on echo at concurrency 16, x FastMCP's (same tools, same machine)",
        ratios["echo c=16"],
        ">=",
        1.0,
        "x",
        note="median of the per-round ratios",
    )


def _skipped(comparison: Comparison, what: str, reason: str) -> None:
    print(f"   skipped {what}: {reason}", file=sys.stderr)
    comparison.notes.append(f"Left out: {what}, because {reason}.")


def run(quick: bool, scratch: Path) -> Comparison:
    plan = QUICK if quick else FULL
    comparison = Comparison(
        NAME, "The MCP endpoint: /api/mcp against calling the server, ContextForge and FastMCP", __doc__ or ""
    )
    with contextlib.ExitStack() as stack:
        p = stack.enter_context(platform(scratch))
        direct = Target(p.lab, "/mcp")
        overhead_targets = {"direct": direct, "/api/mcp": Target(p.core, "/api/mcp", prefix="lab__")}
        server_targets = {"kit": direct}
        reasons = {
            name: ("--quick leaves the peers out" if quick else peers.missing(name))
            for name in ("contextforge", "fastmcp")
        }
        if reasons["contextforge"] is None:
            gateway = stack.enter_context(peers.contextforge(scratch, f"{p.lab.url}/mcp"))
            overhead_targets["contextforge"] = Target(
                gateway.server, "/mcp/", prefix="lab-", headers=tuple(gateway.headers.items())
            )
        else:
            _skipped(comparison, "ContextForge proxying the lab server", reasons["contextforge"])
        if reasons["fastmcp"] is None:
            server_targets["fastmcp"] = Target(stack.enter_context(peers.fastmcp()), "/mcp")
        else:
            _skipped(comparison, "FastMCP serving the lab's tools", reasons["fastmcp"])
        _overhead(comparison, overhead_targets, plan)
        if "fastmcp" in server_targets:
            _servers(comparison, server_targets, plan)
    for name in overhead_targets:
        if name != "direct":
            comparison.compare("p50_ms", "ms", name, "echo c=1", "direct", better="lower")
            comparison.compare("p95_ms", "ms", name, "echo c=1", "direct", better="lower")
    comparison.goal(
        "/api/mcp: latency added per tool call over calling the server directly (p50)",
        comparison.value("/api/mcp", "added per call", "p50_ms"),
        "<=",
        GOAL_MS,
        "ms",
        note="journaled one-step run, audit, metrics, breaker, result cap",
    )
    errors = sum(s.values.get("errors", 0.0) for s in comparison.samples)
    comparison.goal("errors, every subject and scenario", errors, "==", 0, "errors")
    comparison.plots.append(
        Plot(
            "mcp_endpoint_latency.png",
            "One echo call (p50): direct and through a gateway",
            "p50_ms",
            "ms",
            scenarios=["echo c=1", "added per call"],
        )
    )
    return comparison
