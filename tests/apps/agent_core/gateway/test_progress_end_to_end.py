"""Long tools through a real agent core: progress reports become run events (SSE, the run view) and keep a
step alive past its timeout.

- ``@modelcontextprotocol/server-everything`` (tools/mcp-everything), over Streamable HTTP and over stdio (a
  servers-file entry): its ``trigger-long-running-operation`` (``duration`` seconds in ``steps`` steps) sends
  ``notifications/progress`` after each step, but only when the request carries a progress token
  (``dist/tools/trigger-long-running-operation.js``);
- an MCP server on our SDK (``tests/support/progress_server.py``; our kit's servers answer in JSON and so
  cannot report progress).

Each step's ``timeout_seconds`` is shorter than its tool takes: only its progress keeps it alive.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.agent_core import TERMINAL, CoreClient, run_agent_core
from tests.support.progress_server import run_progress_server
from tests.support.third_party_mcp import EVERYTHING_ENTRY, INSTALL_HINT, server_everything


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreClient]:
    assert EVERYTHING_ENTRY.exists(), INSTALL_HINT
    logs = tmp_path_factory.mktemp("progress")
    everything = server_everything(logs / "everything.log")
    everything.start()
    servers_file = logs / "servers.json"
    stdio = {"command": "node", "args": [str(EVERYTHING_ENTRY), "stdio"]}
    servers_file.write_text(json.dumps({"mcpServers": {"everything_stdio": stdio}}), encoding="utf-8")
    try:
        with (
            run_progress_server() as ticker,
            run_agent_core(
                {"everything": everything.url, "ticker": ticker}, logs, mcp_servers_file=servers_file
            ) as client,
        ):
            yield client
    finally:
        everything.stop()


def follow(core: CoreClient, run_id: str, within: float = 15.0) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The run's SSE stream until it ends, and the run view as read when the first progress event arrived."""
    events: list[dict[str, Any]] = []
    view_while_running = None
    deadline = time.monotonic() + within
    with core.http.stream("GET", f"/api/runs/{run_id}/events", timeout=within) as stream:
        for line in stream.iter_lines():  # the stream's keep-alive comments come as lines too
            assert time.monotonic() < deadline, f"run {run_id} did not end within {within:g} s: {events}"
            if not line.startswith("data:"):
                continue
            event = json.loads(line.removeprefix("data:"))
            events.append(event)
            if event["type"] == "step_progress" and view_while_running is None:
                view_while_running = core.run(run_id)
    return events, view_while_running


def one_step(server: str, tool: str, arguments: dict[str, Any], timeout: float) -> dict[str, Any]:
    step = {"id": "long", "tool": f"{server}.{tool}", "arguments": arguments, "timeout_seconds": timeout}
    return {"workflow": {"name": f"long_{server}", "steps": [step]}}


@pytest.mark.parametrize("server", ["everything", "everything_stdio"])
def test_server_everythings_long_running_operation_reports_progress_into_the_run(core: CoreClient, server: str) -> None:
    body = one_step(server, "trigger-long-running-operation", {"duration": 3, "steps": 6}, timeout=1)
    run_id = core.start(body)
    events, running = follow(core, run_id)

    run = core.wait_for(run_id, TERMINAL, timeout=10)
    assert run["status"] == "succeeded", run["steps"]
    assert "Long running operation completed. Duration: 3 seconds, Steps: 6" in str(run["steps"][0]["result"])
    assert run["steps"][0]["progress"] is None, "a finished step shows no progress"

    kinds = [event["type"] for event in events]
    reports = [event["data"] for event in events if event["type"] == "step_progress"]
    assert kinds.index("step_started") < kinds.index("step_progress")
    assert max(i for i, kind in enumerate(kinds) if kind == "step_progress") < kinds.index("step_finished")
    # Six reports over three seconds, journaled at most once a second, the last one always.
    assert 2 <= len(reports) <= 5, reports
    assert [report["progress"] for report in reports] == sorted({report["progress"] for report in reports})
    assert reports[-1] == {"v": 1, "step_id": "long", "attempt": 1, "progress": 6, "total": 6, "message": None}

    assert running is not None and running["status"] == "running"
    [step] = running["steps"]
    assert step["status"] == "running" and step["progress"]["total"] == 6 and step["progress"]["progress"] >= 1


def test_a_step_of_our_sdks_server_reports_its_messages_and_fails_when_it_falls_silent(core: CoreClient) -> None:
    lives = core.start(one_step("ticker", "tick", {"reports": 5, "interval": 0.3}, timeout=0.5))
    events, _ = follow(core, lives)
    assert core.run(lives)["status"] == "succeeded"
    last = [event["data"] for event in events if event["type"] == "step_progress"][-1]
    assert (last["progress"], last["total"], last["message"]) == (5, 5, "tick 5")

    falls_silent = core.start(one_step("ticker", "tick", {"reports": 2, "interval": 0.3, "silence": 5}, timeout=0.5))
    run = core.wait_for(falls_silent, TERMINAL, timeout=10)
    assert run["status"] == "failed"
    assert "gave no answer and no progress for 0.5 s" in run["steps"][0]["error"]


def test_a_long_step_without_progress_still_fails_at_its_timeout(core: CoreClient) -> None:
    run_id = core.start(one_step("ticker", "tick", {"reports": 0, "interval": 0, "silence": 3}, timeout=0.5))
    run = core.wait_for(run_id, TERMINAL, timeout=10)
    assert run["status"] == "failed"
    assert run["steps"][0]["error"] == "ticker MCP server gave no answer within 0.5 s; the tool may still be running"
