"""Throughput: whole runs per second against one agent-core process, at concurrency 1 to 256.

Each run is a one-step workflow calling a trivial tool, started and awaited with one ``POST /api``,
so a run is counted only when it has finished (and succeeded). The baseline is the same process at
concurrency 1; the direct tool call at 16 shows what the MCP server alone would allow.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks.core_harness import load_runs, load_tool, platform, workflow
from benchmarks.results import Comparison, Plot

NAME = "core_throughput"
CONCURRENCY = (1, 16, 64, 256)
FULL_RUNS = {1: 150, 16: 600, 64: 1000, 256: 1600}
QUICK_RUNS = {1: 4, 16: 16, 64: 64, 256: 256}


def run(quick: bool, scratch: Path) -> Comparison:
    comparison = Comparison(NAME, "Runs per second against one agent-core process", __doc__ or "")
    counts = QUICK_RUNS if quick else FULL_RUNS
    max_seconds = 10.0 if quick else 25.0
    with platform(scratch) as p:

        async def measure() -> None:
            direct = await load_tool(p.lab, "echo", {"text": "bench"}, concurrency=16, calls=counts[64], max_seconds=10)
            comparison.add("direct tool call", "c=16", **direct.values())
            await load_runs(p.core, workflow(1), concurrency=4, runs=counts[16] // 4, max_seconds=10)  # warm-up
            for concurrency in CONCURRENCY:
                result = await load_runs(
                    p.core, workflow(1), concurrency=concurrency, runs=counts[concurrency], max_seconds=max_seconds
                )
                comparison.add("agent core", f"c={concurrency}", **result.values())

        asyncio.run(measure())
    for concurrency in CONCURRENCY[1:]:
        comparison.compare("rps", "runs/s", "agent core", f"c={concurrency}", "agent core", "c=1")
        comparison.compare("p99_ms", "ms", "agent core", f"c={concurrency}", "agent core", "c=1", better="lower")
    comparison.compare("rps", "runs/s", "agent core", "c=16", "direct tool call", "c=16")
    comparison.goal("errors at concurrency 256", comparison.value("agent core", "c=256", "errors"), "==", 0, "errors")
    comparison.plots += [
        Plot("core_throughput.png", "Runs per second (one-step workflow)", "rps", "runs/s"),
        Plot("core_p99.png", "Run latency p99", "p99_ms", "ms", log_scale=True),
    ]
    return comparison
