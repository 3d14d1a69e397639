"""Two agent-core processes sharing one store: a run started on one is readable, by id and in lists, on the other.

Each process is started exactly as a container starts it (``python -m apps.agent_core``), configured
only by environment variables; the lab MCP server runs in this process and both reach it over HTTP.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from apps.agent_core.store.dynamodb import create_table
from tests.support.agent_core import TERMINAL
from tests.support.lab_server import LabState, run_lab_server
from tests.support.processes import RunningService, run_service

WORKFLOW: dict[str, Any] = {
    "name": "echo_chain",
    "description": "Echo a word, then echo its upper-case form and a second word at once.",
    "inputs": {"word": "hello"},
    "steps": [
        {"id": "first", "tool": "lab.echo", "arguments": {"text": "{{ inputs.word }}"}},
        {
            "parallel": [
                {"id": "shout", "tool": "lab.echo", "arguments": {"text": "{{ steps.first.result.items[1] }}"}},
                {"id": "other", "tool": "lab.echo", "arguments": {"text": "world"}},
            ]
        },
    ],
}


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[str, LabState]]:
    """The lab MCP server's URL and call counters, for this module; tests compare counts before and after."""
    with run_lab_server() as served:
        yield served


@contextlib.contextmanager
def two_agent_cores(env: dict[str, str], logs: Path) -> Iterator[tuple[RunningService, RunningService]]:
    """Processes A and B with the same configuration, started side by side to save the second start-up."""
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(stack.enter_context, run_service("apps.agent_core", env, log_path=logs / f"{name}.log"))
            for name in ("a", "b")
        ]
        a, b = (future.result() for future in futures)
        yield a, b


def wait_for(http: httpx.Client, run_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(f"/api/runs/{run_id}")
        assert response.status_code == 200, response.text
        run = dict(response.json())
        if run["status"] in TERMINAL:
            return run
        assert time.monotonic() < deadline, f"run {run_id} stayed {run['status']}"
        time.sleep(0.05)


def check_shared_run(env: dict[str, str], lab: tuple[str, LabState], logs: Path) -> None:
    echoes_before = lab[1].calls["echo"]
    with (
        two_agent_cores(env, logs) as (a, b),
        httpx.Client(base_url=a.url, timeout=30) as on_a,
        httpx.Client(base_url=b.url, timeout=30) as on_b,
    ):
        assert a.process.pid != b.process.pid
        started = on_a.post("/api/runs", json={"workflow": WORKFLOW})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]

        # Followed on B, which never saw the request: everything it shows came from the store.
        seen_on_b = wait_for(on_b, run_id)
        assert seen_on_b["status"] == "succeeded", seen_on_b
        assert seen_on_b["kind"] == "workflow" and seen_on_b["title"] == "echo_chain"
        assert seen_on_b["request"]["workflow"] == WORKFLOW
        steps = {step["id"]: step for step in seen_on_b["steps"]}
        assert sorted(steps) == ["first", "other", "shout"]
        assert all(
            (step["server"], step["tool"], step["status"]) == ("lab", "echo", "succeeded") for step in steps.values()
        )
        assert steps["first"]["result"] == {"text": "hello", "items": ["hello", "HELLO"]}
        assert steps["shout"]["arguments"] == {"text": "HELLO"}
        assert steps["other"]["result"]["text"] == "world"
        assert lab[1].calls["echo"] - echoes_before == 3

        seen_on_a = on_a.get(f"/api/runs/{run_id}")
        assert seen_on_a.status_code == 200
        assert seen_on_a.json() == seen_on_b

        listed = on_b.get("/api/runs")
        assert listed.status_code == 200, listed.text
        summaries = {run["id"]: run for run in listed.json()["runs"]}
        assert run_id in summaries
        assert (summaries[run_id]["status"], summaries[run_id]["kind"]) == ("succeeded", "workflow")
        # And an id neither process knows is still a 404 on both.
        assert on_b.get(f"/api/runs/{uuid.uuid4().hex}").status_code == 404


def test_sqlite_store_shared_by_two_processes(lab: tuple[str, LabState], tmp_path: Path) -> None:
    env = {
        "AGENTIC_MCP_SERVERS": f"lab={lab[0]}",
        "AGENTIC_STATE": f"sqlite:///{tmp_path}/runs.db",
        "AGENTIC_REASONER": "offline",
    }
    check_shared_run(env, lab, tmp_path)


def test_dynamodb_store_shared_by_two_processes(lab: tuple[str, LabState], aws_env: str, tmp_path: Path) -> None:
    table = f"runs-{uuid.uuid4().hex[:12]}"
    create_table(boto3.client("dynamodb"), table)
    env = {
        "AGENTIC_MCP_SERVERS": f"lab={lab[0]}",
        "AGENTIC_STATE": f"dynamodb://{table}",
        "AGENTIC_REASONER": "offline",
        "AWS_ENDPOINT_URL": aws_env,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "us-west-2",
    }
    check_shared_run(env, lab, tmp_path)
