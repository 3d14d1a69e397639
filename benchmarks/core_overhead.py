"""Agent-core overhead: the same tool called directly, through a workflow, and through the reasoning loop.

Each path is timed at 1 step and at ``STEPS`` steps (sequential runs, concurrency 1); the difference
divided by ``STEPS - 1`` is the cost of one more step, free of the run's fixed costs (the request,
creating the run, the store). What the agent core adds per step is that, minus the tool call itself
(measured directly against the MCP server) and, for the loop, minus one scripted model call (also
measured directly). The lab server's /metrics count the HTTP requests the steps cost it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from benchmarks.core_harness import Platform, load_runs, load_tool, platform, task, workflow
from benchmarks.http_load import post, run_load
from benchmarks.processes import HOST
from benchmarks.results import Comparison, Plot

NAME = "core_overhead"
STEPS = 5
# From profiling the agent core under this benchmark (cProfile of its event loop; a gateway-only timing).
FINDINGS = [
    "Fixed after the first run of this benchmark: a lost wake-up in `RunService.wait_until_settled` (1-2 % of "
    "`POST /api` calls took +1 s: the signal is now taken before the header is read); the tool schema's "
    "meta-schema check ran for every step of every run (~0.45 ms per step; now once per schema); every step "
    "boundary read the run header to see cancels from other replicas (the lease heartbeat does that now); and a "
    "waiter re-read the header on every journal event (it now wakes on header changes only: 6 header reads per "
    "5-step run instead of 17). Before these fixes the workflow figure was 5.2-5.5 ms; after them, runs of this "
    "benchmark on this 2-core machine gave 1.3 to 3.8 ms, so the figure is sensitive to what else the machine does.",
    "What remains per step: the official MCP client's own cost, ~1.3 ms per call (`McpGateway.call` p50 2.7 ms "
    "against 1.4 ms for the same call as one raw HTTP request), and two journal appends, each a worker-thread hop "
    "and a short `BEGIN IMMEDIATE` transaction. The two appends are the durability contract (the intent is on "
    "disk before the tool is called, the outcome after), so they stay. The reasoning loop's figure also carries "
    "a model turn's bookkeeping and the OpenAI client's own cost per turn, which is why it stays above 2 ms.",
    "The reasoning loop adds, per step, one model turn through the OpenAI client (the scripted model answers in "
    "~0.3 ms, subtracted above) and the turn's journal events; what remains is the loop's own bookkeeping.",
    "Fixed after profiling the reasoning loop: every header update (a model turn's token counts, lease renewals) "
    "read the header before its conditional write, and woke the `POST /api` waiter to read it again for a status "
    "that had not changed. The run's journal now writes from its own last copy (a stale copy is refused by the "
    "conditional write and re-read), and waiters wake on status changes only: store reads per 5-turn run 18 -> 4, "
    "store time per run 13.9 -> 6.8 ms, and the loop's added latency per step 4.7-5.8 -> 2.5-3.6 ms.",
    "What keeps the loop above 2 ms per step, by sampling the agent core (py-spy, 8-turn runs): per turn a "
    "`model_turn` append and a token-count header write (each a worker-thread hop and a short SQLite "
    "transaction, the durability contract), the model request through httpx (its client cost is counted here: "
    "the model's own time is measured with the raw-socket generator), and the MCP client's per-call cost shared "
    "with the workflow path. Folding the token counts into the `model_turn` event (the header would then be "
    "summed from the journal) would save one write per turn; left for later, as it changes what a resumed "
    "run must recompute.",
]


def _model_request(platform_: Platform) -> bytes:
    body = {"model": "bench", "messages": [{"role": "user", "content": "bench turns=0"}]}
    return post(HOST, platform_.model.port, "/v1/chat/completions", json.dumps(body).encode())


async def _measure(comparison: Comparison, p: Platform, runs: int, calls: int) -> None:
    before = p.counters()
    direct = await load_tool(p.lab, "echo", {"text": "bench"}, concurrency=1, calls=calls, max_seconds=20)
    after = p.counters()
    comparison.add("direct", "1 step", **direct.values())
    comparison.add("direct", "per step", p50_ms=direct.p50_ms, requests_per_call=_per_call(before, after))
    model = await run_load(
        HOST,
        p.model.port,
        _model_request(p),
        concurrency=1,
        requests=calls,
        max_seconds=20,
        check=lambda status, _body: status == 200,
    )
    comparison.add("model call", "1 step", **model.values())

    paths: dict[str, Any] = {"workflow": workflow, "reasoning loop": lambda n: task(turns=n)}
    for subject, build in paths.items():
        # Warm-up: the catalog is listed, connections are opened, the model's first answers are cached.
        await load_runs(p.core, build(STEPS), concurrency=1, runs=max(2, runs // 10), max_seconds=20)
        one = await load_runs(p.core, build(1), concurrency=1, runs=runs, max_seconds=30)
        before = p.counters()
        many = await load_runs(p.core, build(STEPS), concurrency=1, runs=runs, max_seconds=60)
        after = p.counters()
        comparison.add(subject, "1 step", **one.values())
        comparison.add(subject, f"{STEPS} steps", **many.values())
        per_step = (many.p50_ms - one.p50_ms) / (STEPS - 1)
        added = per_step - direct.p50_ms - (model.p50_ms if subject == "reasoning loop" else 0.0)
        comparison.add(subject, "per step", p50_ms=per_step, requests_per_call=_per_call(before, after))
        comparison.add(subject, "added per step", p50_ms=added)


def _per_call(before: dict[str, float], after: dict[str, float]) -> float:
    calls = after["tool_calls"] - before["tool_calls"]
    return (after["posts"] - before["posts"]) / calls if calls else float("nan")


def run(quick: bool, scratch: Path) -> Comparison:
    comparison = Comparison(NAME, "Agent-core overhead per tool step", __doc__ or "")
    runs, calls = (4, 20) if quick else (60, 400)
    with platform(scratch) as p:
        asyncio.run(_measure(comparison, p, runs, calls))
    for subject in ("workflow", "reasoning loop"):
        comparison.compare("p50_ms", "ms", subject, "per step", "direct", better="lower")
        comparison.compare("p50_ms", "ms", subject, "added per step", "direct", "per step", better="lower")
        comparison.compare("requests_per_call", "requests", subject, "per step", "direct", better="lower")
    for subject in ("workflow", "reasoning loop"):
        comparison.goal(
            f"{subject}: latency added per tool step (p50)",
            comparison.value(subject, "added per step", "p50_ms"),
            "<=",
            2.0,
            "ms",
        )
        comparison.goal(
            f"{subject}: HTTP requests to the MCP server per tool call, after warm-up",
            comparison.value(subject, "per step", "requests_per_call"),
            "==",
            1.0,
            "requests",
        )
    comparison.notes += FINDINGS
    comparison.plots.append(
        Plot(
            "core_overhead.png",
            "Latency of one tool step (p50)",
            "p50_ms",
            "ms",
            scenarios=["1 step", "per step", "added per step"],
        )
    )
    return comparison
