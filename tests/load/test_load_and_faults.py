"""Load and faults: every run finishes, the API never answers 5xx, no run is lost, no tool call repeated.

``make test`` runs 500 concurrent runs once and one fault scenario under load; ``make soak`` repeats the
load with more runs (``-m soak``). Figures (p50/p99 run latency) are printed, not asserted.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from apps.agent_core.store.dynamodb import create_table
from tests.load.platform import LoadPlatform, LoadReport, load_platform, run_load
from tests.support.net import free_port
from tests.support.processes import run_service

pytestmark = pytest.mark.slow


def check_nothing_lost(report: LoadReport, count: int, database: Path) -> None:
    assert report.start_statuses == [202] * count, sorted(set(report.start_statuses))
    assert len(report.runs) == count, f"{count - len(report.runs)} runs never finished: {report.summary()}"
    assert repeated_steps(database) == []


def repeated_steps(database: Path) -> list[tuple[str, str, int]]:
    """(run, step, outcomes) for every step the journal says happened more than once."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT run_id, json_extract(data, '$.step_id'), count(*) FROM events WHERE type = 'step_finished'"
            " GROUP BY 1, 2 HAVING count(*) > 1"
        ).fetchall()
    conn.close()
    return [tuple(row) for row in rows]


def test_500_concurrent_runs_all_finish_without_a_server_error(moto_endpoint: str, tmp_path: Path) -> None:
    with load_platform(moto_endpoint, tmp_path) as platform:
        platform.model.keep_answering(2 * 500 + 50)
        report = run_load(platform.core.url, 500, label="load")
        print(report.summary())
    check_nothing_lost(report, 500, tmp_path / "runs.db")
    assert report.statuses == {"succeeded": 500}, report.summary()
    failed_steps = [s for run in report.runs.values() for s in run["steps"] if s["status"] != "succeeded"]
    assert failed_steps == [], failed_steps[:3]


def test_faults_under_load_recover_as_designed(moto_endpoint: str, tmp_path: Path) -> None:
    count = 120
    with load_platform(
        moto_endpoint, tmp_path, AGENTIC_BREAKER_RESET_SECONDS="1", AGENTIC_STEP_TIMEOUT_SECONDS="2"
    ) as platform:
        platform.model.keep_answering(4 * count + 200)
        result: dict[str, LoadReport] = {}
        load = threading.Thread(target=lambda: result.setdefault("r", run_load(platform.core.url, count, label="f")))
        load.start()
        with contextlib.ExitStack() as restarted:
            inject_faults(platform, restarted)
            load.join(timeout=300)
            report = result["r"]
            print(report.summary(), f"model faults sent: {platform.model.faults_sent}")
            # After the faults: every server answers again through the agent core, and the model too.
            platform.model.keep_answering(8)
            after = run_load(platform.core.url, 4, label="after")
    check_nothing_lost(report, count, tmp_path / "runs.db")
    # A run whose tool call failed still finishes: the model reads the error and answers, and the run ends failed
    # naming the call (its answer does not stand on it). It also fails when the model stayed throttled past the
    # reasoner's retries, and says so.
    assert set(report.statuses) <= {"succeeded", "failed"}, report.summary()
    for run in report.runs.values():
        if run["status"] == "failed":
            error = run["error"]
            assert ("the model failed" in error and "Exception" in error) or "tool call" in error, error
    step_errors = [s["error"] or "" for run in report.runs.values() for s in run["steps"] if s["status"] == "failed"]
    print(f"{len(step_errors)} failed steps; e.g. {sorted(set(e[:90] for e in step_errors))[:4]}")
    assert any("gave no answer within 2 s" in error for error in step_errors), "no tool hung past its timeout"
    assert any("database" in error for error in step_errors), "the database server's death went unnoticed"
    assert after.statuses == {"succeeded": 4}, after.summary()
    assert all(step["status"] == "succeeded" for run in after.runs.values() for step in run["steps"])
    assert platform.model.faults_sent > 0


def inject_faults(platform: LoadPlatform, stack: contextlib.ExitStack) -> None:
    """While the load runs: the model throttles and fails, a tool hangs past its timeout, a server dies."""
    time.sleep(1.0)
    platform.model.faults_for(2.0)  # the reasoner's retries (4 attempts, jittered backoff) ride it out
    platform.wttr.hang_next(count=5, seconds=4)  # past the 2 s tool timeout
    database = platform.servers["database"]
    port = int(database.url.rsplit(":", 1)[1])
    database.process.send_signal(signal.SIGKILL)
    database.process.wait(timeout=10)
    time.sleep(2.0)
    env = {**platform.env, "PORT": str(port)}
    # Restarted on the same port, as a Service keeps its address: the breaker's probe finds it again.
    restarted = stack.enter_context(
        run_service("apps.mcp_database", env, log_path=platform.logs / "database-2.log", port=port)
    )
    platform.servers["database"] = restarted


def test_a_store_outage_under_load_loses_no_run(aws_env: str, tmp_path: Path) -> None:
    """DynamoDB unreachable for a while: runs stop writing, their leases lapse, they resume from the journal."""
    port = free_port()
    store = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    store.start()
    endpoint = f"http://127.0.0.1:{port}"
    table = f"runs-{uuid.uuid4().hex[:12]}"
    create_table(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-west-2"), table)
    core_env = {
        "AGENTIC_STATE": f"dynamodb://{table}",
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AGENTIC_LEASE_SECONDS": "3",
        "AGENTIC_RECOVERY_INTERVAL_SECONDS": "0.5",
    }
    count = 60
    try:
        with load_platform(aws_env, tmp_path, **core_env) as platform:
            platform.model.keep_answering(4 * count + 50)
            result: dict[str, LoadReport] = {}
            load = threading.Thread(
                target=lambda: result.setdefault("r", run_load(platform.core.url, count, label="s"))
            )
            load.start()
            # The outage must meet runs in flight, however long the machine takes to start them.
            wait_for_runs(platform.core.url, at_least=count // 3, timeout=60)
            # Moto keeps its data in this process: a stopped server loses nothing, like a network partition.
            store.stop()
            time.sleep(3.0)
            store = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            store.start()
            load.join(timeout=240)
            report = result["r"]
            print(report.summary())
    finally:
        store.stop()
    assert report.start_statuses.count(202) + report.start_statuses.count(503) == count
    started = report.start_statuses.count(202)
    assert started >= count // 3, report.summary()
    # Starting a run while the store is down is refused (503, nothing created); every run started finishes.
    assert len(report.runs) == started, report.summary()
    assert report.statuses == {"succeeded": started}, report.summary()
    for run in report.runs.values():
        assert len({step["id"] for step in run["steps"]}) == len(run["steps"]) == 1, run["steps"]
    # The outage did reach runs in flight: they stopped and were resumed from their journals.
    assert "the run store failed; the run will be resumed" in (tmp_path / "agent-core.log").read_text()


def wait_for_runs(url: str, *, at_least: int, timeout: float) -> None:
    """Until the agent core lists ``at_least`` runs (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            listed = httpx.get(f"{url}/api/runs", params={"limit": 200}, timeout=5)
            if listed.status_code == 200 and len(listed.json()["runs"]) >= at_least:
                return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} runs were started within {timeout:g} s")


@pytest.mark.soak
def test_soak_rounds_of_500_runs_with_model_faults(moto_endpoint: str, tmp_path: Path) -> None:
    """``make soak``: five rounds of 500 concurrent runs on one platform, the model failing in two of them."""
    reports: list[LoadReport] = []
    with load_platform(moto_endpoint, tmp_path) as platform:
        for round_ in range(5):
            platform.model.keep_answering(4 * 500 + 200)
            if round_ in (1, 3):
                platform.model.faults_for(1.0)
            reports.append(run_load(platform.core.url, 500, label=f"soak{round_}", timeout=300))
            print(f"round {round_}: {reports[-1].summary()}")
    for report in reports:
        assert report.start_statuses == [202] * 500 and len(report.runs) == 500, report.summary()
        assert set(report.statuses) <= {"succeeded", "failed"}, report.summary()
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        (stored,) = conn.execute("SELECT count(*) FROM runs").fetchone()
    conn.close()
    assert stored == sum(len(report.runs) for report in reports)
    assert repeated_steps(tmp_path / "runs.db") == []
