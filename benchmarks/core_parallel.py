"""Parallel tool use: a model turn asking for 4 independent 200 ms tools, against one such tool.

The tool phase of a run is timed from its steps (first start to last finish, as the run records
them), so the model's turns and the run's bookkeeping are left out and only the concurrency of the
calls is measured. The baseline is one 200 ms call made directly to the MCP server; run sequentially,
four would take four times as long.
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path
from typing import Any

from benchmarks.core_harness import Platform, load_tool, platform, run_once, task, workflow
from benchmarks.results import Comparison, Plot

NAME = "core_parallel"
TOOL_MS = 200
CALLS = 4


def _tool_phase_ms(view: dict[str, Any]) -> float:
    steps = [s for s in view["steps"] if s.get("started_at") and s.get("finished_at")]
    if view["status"] != "succeeded" or not steps:
        return float("nan")
    return float(max(s["finished_at"] for s in steps) - min(s["started_at"] for s in steps)) * 1000


def _sample(comparison: Comparison, p: Platform, subject: str, scenario: str, body: dict[str, Any], runs: int) -> None:
    views = [run_once(p.core, body) for _ in range(runs)]
    phases = [_tool_phase_ms(view) for view in views]
    comparison.add(
        subject,
        scenario,
        tools_ms=statistics.median(phases),
        run_ms=statistics.median(float(view["duration_ms"] or 0) for view in views),
        errors=sum(view["status"] != "succeeded" for view in views),
    )


def run(quick: bool, scratch: Path) -> Comparison:
    comparison = Comparison(NAME, f"Parallel tool use: {CALLS} x {TOOL_MS} ms tools in one turn", __doc__ or "")
    runs = 2 if quick else 10
    with platform(scratch) as p:
        direct = asyncio.run(load_tool(p.lab, "wait", {"ms": TOOL_MS}, concurrency=1, calls=runs, max_seconds=30))
        comparison.add("direct", "1 tool", tools_ms=direct.p50_ms, run_ms=direct.p50_ms, errors=direct.errors)
        run_once(p.core, task(tool="wait", calls=1, ms=TOOL_MS))  # warm-up: catalog, connections
        _sample(comparison, p, "reasoning loop", "1 tool", task(tool="wait", calls=1, ms=TOOL_MS), runs)
        _sample(comparison, p, "reasoning loop", f"{CALLS} tools", task(tool="wait", calls=CALLS, ms=TOOL_MS), runs)
        _sample(comparison, p, "workflow", "1 tool", workflow(1, tool="wait", ms=TOOL_MS), runs)
        parallel = workflow(CALLS, tool="wait", ms=TOOL_MS, parallel=True)
        _sample(comparison, p, "workflow", f"{CALLS} tools", parallel, runs)
    for subject in ("reasoning loop", "workflow"):
        comparison.compare("tools_ms", "ms", subject, f"{CALLS} tools", "direct", "1 tool", better="lower")
        comparison.compare("tools_ms", "ms", subject, f"{CALLS} tools", subject, "1 tool", better="lower")
    headline = comparison.figures[0]
    comparison.goal(
        f"model turn with {CALLS} x {TOOL_MS} ms tools, x one tool's time",
        headline.ratio or float("inf"),
        "<=",
        1.25,
        "x",
        note=f"sequential would be {CALLS}x",
    )
    comparison.plots.append(Plot("core_parallel.png", "Tool phase of a run", "tools_ms", "ms"))
    return comparison
