"""Workflow runs through the API: references, parallel groups, conditions, retries, fallbacks,
and an MCP server that stops in the middle of a run."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from tests.support.agent_core import TERMINAL, run_agent_core
from tests.support.lab_server import LabState, run_lab_server
from tests.support.net import free_port


def steps_by_id(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in run["steps"]}


def test_workflow_with_references_parallel_when_retry_and_fallback(tmp_path: Path) -> None:
    state = LabState(failures_left={"always-broken": 99})
    workflow = {
        "name": "everything",
        "steps": [
            {"id": "first", "tool": "lab.echo", "arguments": {"text": "alpha"}},
            {
                "parallel": [
                    {
                        "id": "left",
                        "tool": "lab.slow_echo",
                        "arguments": {"text": "{{ steps.first.result.items[1] }}", "seconds": 0.3},
                    },
                    {"id": "right", "tool": "lab.slow_echo", "arguments": {"text": "right", "seconds": 0.3}},
                ]
            },
            {
                "id": "never",
                "tool": "lab.echo",
                "when": "steps.first.result.text == 'omega'",
                "arguments": {"text": "no"},
            },
            {
                "id": "shaky",
                "tool": "lab.flaky",
                "arguments": {"key": "always-broken"},
                "retry": {"attempts": 2, "backoff_seconds": 0.01},
                "on_error": {"fallback": {"id": "steady", "tool": "lab.echo", "arguments": {"text": "fallback"}}},
            },
            {"id": "after", "tool": "lab.echo", "arguments": {"text": "{{ steps.shaky.result.text }}-used"}},
        ],
    }
    with run_lab_server(state) as (lab, _), run_agent_core({"lab": lab}, tmp_path) as core:
        run = core.wait_for(core.start({"workflow": workflow}), TERMINAL)

    steps = steps_by_id(run)
    assert run["status"] == "succeeded", run["error"]
    assert steps["left"]["arguments"] == {"text": "ALPHA", "seconds": 0.3}, "reference resolved from an earlier result"
    assert (
        steps["left"]["started_at"] < steps["right"]["finished_at"]
        and steps["right"]["started_at"] < steps["left"]["finished_at"]
    ), "the parallel group overlapped"
    assert steps["never"]["status"] == "skipped"
    # Recovered, not failed: the API shows that the fallback's result stands in (it once showed plain "failed").
    shaky = steps["shaky"]
    assert (shaky["status"], shaky["recovered_by"], shaky["attempt"]) == ("recovered", "steady", 2)
    assert shaky["error"], "the failure that was recovered is kept"
    assert state.calls["flaky"] == 2, "retried exactly as configured"
    assert steps["steady"]["status"] == "succeeded"
    assert steps["after"]["arguments"] == {"text": "fallback-used"}, (
        "the fallback's result stood in for the failed step"
    )


def test_invalid_workflow_is_refused_listing_every_problem(tmp_path: Path) -> None:
    workflow = {
        "name": "broken",
        "steps": [
            {"id": "a", "tool": "lab.nope", "arguments": {}},
            {"id": "b", "tool": "lab.echo", "arguments": {"text": "{{ steps.c.result.text }}"}},
            {"id": "c", "tool": "lab.scale", "arguments": {"target": "web", "replicas": 99}},
        ],
    }
    with run_lab_server() as (lab, state), run_agent_core({"lab": lab}, tmp_path) as core:
        response = core.http.post("/api/runs", json={"workflow": workflow})
        report = core.http.post("/api/workflows/validate", json={"workflow": workflow}).json()
    assert response.status_code == 400
    problems = " | ".join(response.json()["problems"])
    assert "unknown tool lab.nope" in problems
    assert '"c"' in problems and "b" in problems, "a forward reference is reported"
    assert "99" in problems or "maximum" in problems, "a schema violation is reported"
    assert len(response.json()["problems"]) >= 3
    assert report["valid"] is False and report["problems"] == response.json()["problems"]
    assert sum(state.calls.values()) == 0, "nothing ran"


def test_a_server_stopped_mid_run_fails_its_step_opens_the_breaker_and_recovers(tmp_path: Path) -> None:
    flaky_port = free_port()
    workflow = {
        "name": "outage",
        "steps": [
            {"id": "before", "tool": "lab.echo", "arguments": {"text": "before"}},
            {"id": "pause", "tool": "lab.slow_echo", "arguments": {"text": "wait", "seconds": 0.6}},
            {"id": "remote", "tool": "remote.echo", "arguments": {"text": "gone"}, "on_error": "continue"},
            {"id": "after", "tool": "lab.echo", "arguments": {"text": "after"}},
        ],
    }
    with contextlib.ExitStack() as stack:
        lab, _ = stack.enter_context(run_lab_server())
        remote_server = contextlib.ExitStack()
        remote, _ = remote_server.enter_context(run_lab_server(port=flaky_port))
        core = stack.enter_context(
            run_agent_core({"lab": lab, "remote": remote}, tmp_path, breaker_failures=1, breaker_reset_seconds=1.0)
        )
        run_id = core.start({"workflow": workflow})
        core.wait_for(run_id, {"running"})
        time.sleep(0.2)
        remote_server.close()  # the remote server goes away while "pause" runs
        run = core.wait_for(run_id, TERMINAL)
        health = core.http.get("/api/health").json()

        steps = steps_by_id(run)
        assert run["status"] == "succeeded", "on_error: continue keeps the run going"
        assert steps["before"]["status"] == "succeeded" and steps["after"]["status"] == "succeeded"
        assert steps["remote"]["status"] == "failed"
        assert "unreachable" in steps["remote"]["error"] or "refused" in steps["remote"]["error"]
        remote_health = next(server for server in health["servers"] if server["server"] == "remote")
        assert remote_health["reachable"] is False and remote_health["breaker"] == "open"

        started = time.monotonic()
        failing_fast = core.wait_for(
            core.start({"workflow": {"name": "again", "steps": workflow["steps"][2:3]}}), TERMINAL
        )
        assert failing_fast["steps"][0]["status"] == "failed"
        assert time.monotonic() - started < 5

        with run_lab_server(port=flaky_port) as (_, restarted):
            time.sleep(1.1)  # past the breaker's reset: the next call is its half-open probe
            recovered = core.wait_for(
                core.start(
                    {
                        "workflow": {
                            "name": "back",
                            "steps": [{"id": "r", "tool": "remote.echo", "arguments": {"text": "back"}}],
                        }
                    }
                ),
                TERMINAL,
            )
            assert recovered["status"] == "succeeded", recovered
            assert restarted.calls["echo"] == 1
