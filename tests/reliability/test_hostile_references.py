"""Hostile workflow references against the agent core as deployed: its own process, over real HTTP.

A reference that doubles its work per level (``.[@,@][]``) is refused when the workflow is validated,
naming the step and the argument. One that passes the static bound but is heavy because its input is
wide is stopped at run time by the evaluation's work budget: the run ends ``failed`` in seconds,
naming the step, the argument and the bound, is never resumed, and ``/api/health`` keeps answering
within 100 ms throughout because the evaluation runs off the event loop.

The agent core runs through ``tests.support.loop_stalls``, which measures its event loop's lag from
inside the process: over HTTP on a loaded two-core machine the client and every other process add noise,
so the 100 ms bound is asserted on the server's own loop, and the HTTP latencies are reported beside it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from apps.agent_core.workflows.bounds import EvaluationLimits
from tests.support.agent_core import TERMINAL
from tests.support.hostile_inputs import doubling_reference, wide_reference
from tests.support.lab_server import LabState, run_lab_server
from tests.support.loop_stalls import TARGET_VARIABLE, HealthProbe, StallReport, best_of, server_stalls
from tests.support.processes import RunningService, run_service

pytestmark = pytest.mark.slow

LEASE_SECONDS = 3
"""Short, so that a replica stalled by a reference (as before the bound) loses the run and it is resumed."""
HEALTH_BOUND_MS = 100.0
MAX_WORK = EvaluationLimits().max_work
WIDE_ROWS = 30_000


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[str, LabState]]:
    with run_lab_server() as served:
        yield served


@pytest.fixture(scope="module")
def core(lab: tuple[str, LabState], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    state = tmp_path_factory.mktemp("hostile-references")
    env = {
        "AGENTIC_MCP_SERVERS": f"lab={lab[0]}",
        "AGENTIC_STATE": f"sqlite:///{state}/runs.db",
        "AGENTIC_REASONER": "offline",
        "AGENTIC_LEASE_SECONDS": str(LEASE_SECONDS),
        "AGENTIC_RECOVERY_INTERVAL_SECONDS": "0.5",
        TARGET_VARIABLE: "apps.agent_core",
    }
    with run_service("tests.support.loop_stalls", env, log_path=state / "agent-core.log") as running:
        yield running


def poison_workflow(levels: int) -> dict[str, Any]:
    return {
        "name": "poison",
        "steps": [
            {"id": "q", "tool": "lab.echo", "arguments": {"text": "rows"}},
            {
                "id": "count",
                "tool": "lab.echo",
                "arguments": {"text": "{{ to_string(" + doubling_reference(levels, "steps.q.result.items") + ") }}"},
            },
        ],
    }


def wide_workflow() -> dict[str, Any]:
    return {
        "name": "wide",
        "inputs": {"rows": []},
        "steps": [
            {"id": "count", "tool": "lab.echo", "arguments": {"text": "{{ to_string(" + wide_reference() + ") }}"}}
        ],
    }


def test_a_doubling_reference_is_refused_before_it_runs_naming_the_step_and_the_argument(
    core: RunningService, lab: tuple[str, LabState]
) -> None:
    calls_before = sum(lab[1].calls.values())
    with httpx.Client(base_url=core.url, timeout=30) as http:
        report = http.post("/api/workflows/validate", json={"workflow": poison_workflow(23)})
        assert report.status_code == 200, report.text
        assert report.json()["valid"] is False
        problems = report.json()["problems"]
        assert len(problems) == 1, problems
        assert problems[0].startswith('steps[1] (id "count"): arguments.text: '), problems
        assert "8,388,608 times" in problems[0] and "the limit is 64" in problems[0], problems

        refused = http.post("/api/runs", json={"workflow": poison_workflow(23)})
        assert refused.status_code == 400, refused.text
        assert refused.json()["problems"] == problems

        # Within the bound, the same shape is a valid workflow: the refusal is about growth, nothing else.
        assert http.post("/api/workflows/validate", json={"workflow": poison_workflow(6)}).json()["valid"] is True
    assert sum(lab[1].calls.values()) == calls_before  # nothing ran


def test_a_reference_heavy_only_at_run_time_fails_the_run_in_seconds_while_health_keeps_answering(
    core: RunningService, lab: tuple[str, LabState]
) -> None:
    with httpx.Client(base_url=core.url, timeout=30) as http:
        valid = http.post("/api/workflows/validate", json={"workflow": wide_workflow()}).json()
        assert valid == {"valid": True, "problems": []}, valid  # it slips past the static bound
        runs: list[dict[str, Any]] = []
        over_http: list[StallReport] = []

        def measure() -> StallReport:
            server_stalls(http, reset=True)
            with HealthProbe(core.url + "/api/health") as probe:
                runs.append(run_to_the_end(http, {"workflow": wide_workflow(), "inputs": {"rows": [0] * WIDE_ROWS}}))
                time.sleep(0.5)  # and a little after: a stall that outlives the run counts too
            over_http.append(probe.report())
            return server_stalls(http)

        calls_before = lab[1].calls["echo"]
        best, reports = best_of(3, measure, HEALTH_BOUND_MS)
        print(f"agent core's loop lag while the wide reference ran: {'; '.join(map(str, reports))}")
        print(f"/api/health latency over HTTP meanwhile: {'; '.join(map(str, over_http))}")
        print("runs ended after (s):", ", ".join(f"{run['finished_at'] - run['created_at']:.2f}" for run in runs))

        for run in runs:
            assert run["status"] == "failed", run
            error = run["error"]
            assert error.startswith('step "count" failed: could not resolve the step: arguments.text: '), error
            assert f"needs more than {MAX_WORK:,} units of work (the bound on one step)" in error, error
            assert run["finished_at"] - run["created_at"] < 15, run  # seconds, not minutes
            journal = http.get(f"/api/runs/{run['id']}/events").text
            assert "run_resumed" not in journal
        assert lab[1].calls["echo"] == calls_before  # the step's tool was never called
        # Every health request was answered (none timed out), whatever the machine's load did to latency.
        assert all(report.failures == 0 and report.samples >= 10 for report in over_http), over_http
        assert best.samples >= 50, best
        assert best.max_ms <= HEALTH_BOUND_MS, f"the agent core's event loop stalled: {best}"


def run_to_the_end(http: httpx.Client, body: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    response = http.post("/api/runs", json=body)
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    deadline = time.monotonic() + timeout
    while True:
        run = dict(http.get(f"/api/runs/{run_id}").json())
        if run["status"] in TERMINAL:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {timeout} s"
        time.sleep(0.25)
