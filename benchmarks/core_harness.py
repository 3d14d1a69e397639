"""The agent core as it runs for real, with a lab MCP server and an instant scripted model beside it.

Three processes: the lab server built with our kit (``benchmarks.mcp_targets kit``), the scripted
OpenAI-compatible model (``benchmarks.stubs model``), and the agent core itself, configured only
through its ``AGENTIC_*`` variables (reasoner ``openai`` pointed at the model). Runs go through
``POST /api``, which returns the finished run, so one request is one whole run.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.http_load import LoadResult, mcp_headers, post, run_load, tool_call_ok
from benchmarks.processes import HOST, Server, base_env, serve

_SAMPLE = re.compile(r"^(\w+)\{([^}]*)\}\s+([0-9.eE+-]+)$", re.MULTILINE)


@dataclass
class Platform:
    lab: Server
    model: Server
    core: Server

    def counters(self) -> dict[str, float]:
        """From the lab server's /metrics: POSTs to /mcp, and tool calls (any outcome)."""
        text = httpx.get(f"{self.lab.url}/metrics", timeout=5).text
        posts = calls = 0.0
        for name, labels, value in _SAMPLE.findall(text):
            if name == "mcp_http_requests_total" and 'path="/mcp"' in labels and 'method="POST"' in labels:
                posts += float(value)
            elif name == "mcp_tool_calls_total":
                calls += float(value)
        return {"posts": posts, "tool_calls": calls}

    def store_report(self) -> dict[str, Any]:
        """The timed core's per-method store totals (only with ``timed=True``)."""
        return dict(httpx.get(f"{self.core.url}/__bench/store", timeout=5).json())


@contextlib.contextmanager
def platform(scratch: Path, *, state: str | None = None, timed: bool = False, **env: str) -> Iterator[Platform]:
    """Start the three processes; the core's store is SQLite in ``scratch`` unless ``state`` says otherwise."""
    common = base_env()
    with (
        serve("benchmarks.mcp_targets", ["kit"], env=common, ready_path="/health") as lab,
        serve("benchmarks.stubs", ["model"], env=common, ready_path="/health") as model,
    ):
        core_env = base_env(
            AGENTIC_MCP_SERVERS=f"lab={lab.url}/mcp",
            AGENTIC_STATE=state or f"sqlite:///{scratch / 'runs.db'}",
            AGENTIC_REASONER="openai",
            AGENTIC_OPENAI_BASE_URL=f"{model.url}/v1",
            AGENTIC_OPENAI_MODEL="bench",
            **env,
        )
        module, args = ("benchmarks.stubs", ["core"]) if timed else ("apps.agent_core", [])
        with serve(module, args, env=core_env, ready_path="/ready") as core:
            yield Platform(lab, model, core)


def workflow(steps: int, *, tool: str = "echo", ms: int = 0, parallel: bool = False) -> dict[str, Any]:
    arguments: dict[str, Any] = {"ms": ms} if tool == "wait" else {"text": "bench"}
    items: list[dict[str, Any]] = [
        {"id": f"s{index}", "tool": f"lab.{tool}", "arguments": arguments} for index in range(steps)
    ]
    return {"workflow": {"name": f"bench_{steps}", "steps": [{"parallel": items}] if parallel else items}}


def task(*, tool: str = "echo", calls: int = 1, turns: int = 1, ms: int = 0) -> dict[str, Any]:
    return {"task": f"bench tool={tool} calls={calls} turns={turns} ms={ms}"}


def run_succeeded(status: int, body: bytes) -> bool:
    # The view's first fields are id, kind, status: a step's status cannot be mistaken for the run's.
    return status == 200 and (
        b'"kind":"workflow","status":"succeeded"' in body or b'"kind":"task","status":"succeeded"' in body
    )


async def load_runs(
    core: Server, body: dict[str, Any], *, concurrency: int, runs: int, max_seconds: float, warmup: int = 0
) -> LoadResult:
    request = post(HOST, core.port, "/api", json.dumps(body).encode())
    return await run_load(
        HOST,
        core.port,
        request,
        concurrency=concurrency,
        requests=runs,
        max_seconds=max_seconds,
        check=run_succeeded,
        warmup=warmup,
        timeout=60.0,
    )


async def load_tool(
    lab: Server, tool: str, arguments: dict[str, Any], *, concurrency: int, calls: int, max_seconds: float
) -> LoadResult:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    request = post(HOST, lab.port, "/mcp", json.dumps(message).encode(), mcp_headers())
    return await run_load(
        HOST, lab.port, request, concurrency=concurrency, requests=calls, max_seconds=max_seconds, check=tool_call_ok
    )


def run_once(core: Server, body: dict[str, Any]) -> dict[str, Any]:
    """One run through ``POST /api``; the finished run's view."""
    response = httpx.post(f"{core.url}/api", json=body, timeout=60)
    response.raise_for_status()
    return dict(response.json())
