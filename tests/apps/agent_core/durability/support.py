"""Agent-core replicas as real processes on one store, and what a test reads back from them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx

from apps.agent_core.model import RunEvent
from apps.agent_core.store import open_store
from apps.agent_core.store.dynamodb import create_table
from tests.support.agent_core import TERMINAL
from tests.support.processes import RunningService, run_service

LEASE_SECONDS = 3.0
RECOVERY_SECONDS = 0.5


def replica_env(store_url: str, lab_url: str, **extra: str) -> dict[str, str]:
    return {
        "AGENTIC_MCP_SERVERS": f"lab={lab_url}",
        "AGENTIC_STATE": store_url,
        "AGENTIC_REASONER": "offline",
        "AGENTIC_LEASE_SECONDS": str(LEASE_SECONDS),
        "AGENTIC_RECOVERY_INTERVAL_SECONDS": str(RECOVERY_SECONDS),
        # Destructive lab tools run without a person here: these tests are about replicas, not approvals.
        "AGENTIC_AUTO_APPROVE": "lab.apply",
        **extra,
    }


def dynamodb_store(endpoint: str) -> tuple[str, dict[str, str]]:
    """A fresh table on moto's server: the store URL and the variables a replica needs to reach it."""
    table = f"runs-{uuid.uuid4().hex[:12]}"
    create_table(boto3.client("dynamodb"), table)
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "us-west-2",
    }
    return f"dynamodb://{table}", env


@contextlib.contextmanager
def replicas(env: dict[str, str], names: list[str], logs: Path) -> Iterator[dict[str, RunningService]]:
    """One ``python -m apps.agent_core`` per name, started side by side, each with its replica id."""
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {
            name: pool.submit(
                stack.enter_context,
                run_service("apps.agent_core", {**env, "AGENTIC_REPLICA_ID": name}, log_path=logs / f"{name}.log"),
            )
            for name in names
        }
        yield {name: future.result() for name, future in futures.items()}


@contextlib.contextmanager
def two_replicas(
    env: dict[str, str], logs: Path
) -> Iterator[tuple[dict[str, RunningService], httpx.Client, httpx.Client]]:
    """Replicas ``a`` and ``b`` on one store, with a client for each."""
    with (
        replicas(env, ["a", "b"], logs) as running,
        httpx.Client(base_url=running["a"].url, timeout=30) as on_a,
        httpx.Client(base_url=running["b"].url, timeout=30) as on_b,
    ):
        yield running, on_a, on_b


def chain(tag: str, steps: int, seconds: float, *, apply_at: int | None = None) -> dict[str, Any]:
    """A workflow of ``steps`` sequential slow echoes of ``<tag>-<n>``; step ``apply_at`` applies a change."""
    body: list[dict[str, Any]] = []
    for n in range(1, steps + 1):
        tool, field = ("lab.apply", "change") if n == apply_at else ("lab.slow_echo", "text")
        body.append({"id": f"s{n}", "tool": tool, "arguments": {field: f"{tag}-{n}", "seconds": seconds}})
    return {"name": f"chain_{tag}", "steps": body}


def start(http: httpx.Client, workflow: dict[str, Any]) -> str:
    response = http.post("/api/runs", json={"workflow": workflow})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def events(
    http: httpx.Client, run_id: str, *, last_event_id: int = 0, stop_after: int | None = None
) -> list[dict[str, Any]]:
    """The run's journal as its SSE stream gives it, from ``last_event_id`` on, until the run ends
    (or ``stop_after`` events, when the client hangs up as a browser losing its connection would)."""
    found: list[dict[str, Any]] = []
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id else {}
    with http.stream("GET", f"/api/runs/{run_id}/events", headers=headers, timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                found.append(json.loads(line[5:]))
                if stop_after is not None and len(found) >= stop_after:
                    break
    return found


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def run_view(http: httpx.Client, run_id: str) -> dict[str, Any]:
    response = http.get(f"/api/runs/{run_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def finished(http: httpx.Client, run_id: str, timeout: float) -> dict[str, Any]:
    return dict(
        wait_until(
            lambda: (view := run_view(http, run_id))["status"] in TERMINAL and view,
            timeout,
            f"run {run_id} to finish",
        )
    )


def step_started(http: httpx.Client, run_id: str, step_id: str) -> bool:
    return any(step["id"] == step_id for step in run_view(http, run_id)["steps"])


def stored_events(store_url: str, run_id: str) -> list[RunEvent]:
    """The run's journal read straight from the store: it answers whether a replica is running the run or not
    (the SSE stream of ``events`` waits for the run to end)."""

    async def read() -> list[RunEvent]:
        store = open_store(store_url)
        try:
            return await store.events(run_id)
        finally:
            await store.close()

    return asyncio.run(read())


def log_lines(path: Path, text: str) -> list[str]:
    """The lines of a replica's log that contain ``text``."""
    return [line for line in path.read_text(errors="replace").splitlines() if text in line]
