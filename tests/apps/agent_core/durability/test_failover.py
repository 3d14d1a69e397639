"""A run survives the death of the replica running it, and no completed step runs again.

Real ``python -m apps.agent_core`` processes share one store (a SQLite file; a DynamoDB table on moto's
server) and reach the lab MCP server in this process, which counts every execution of every step.
Leases last 3 s here and replicas look for orphans every 0.5 s (defaults: 15 s and 1 s).
"""

from __future__ import annotations

import contextlib
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.apps.agent_core.durability.support import (
    LEASE_SECONDS,
    chain,
    events,
    finished,
    replica_env,
    replicas,
    start,
    step_started,
    two_replicas,
    wait_until,
)
from tests.support.fake_openai import FunctionCall, Reply, run_fake_openai
from tests.support.lab_server import LabState

pytestmark = pytest.mark.slow


def test_a_run_resumes_on_another_replica_after_sigkill_and_no_completed_step_runs_again(
    lab: tuple[str, LabState], store_env: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = store_env
    tag = uuid.uuid4().hex[:8]
    with two_replicas({**replica_env(url, lab[0]), **env}, tmp_path) as (running, on_a, on_b):
        run_id = start(on_a, chain(tag, steps=4, seconds=0.6))
        wait_until(lambda: step_started(on_b, run_id, "s3"), 20, "step s3 to start on A")
        # A browser following the run on A has seen the start of it when A dies.
        seen_on_a = events(on_a, run_id, stop_after=3)
        running["a"].process.send_signal(signal.SIGKILL)
        killed_at = time.time()

        run = finished(on_b, run_id, timeout=30)
        assert run["status"] == "succeeded", run
        journal = events(on_b, run_id)
        resumed = next(event for event in journal if event["type"] == "run_resumed")
        assert resumed["data"]["by"] == "b" and resumed["data"]["previous_owner"] == "a"
        # The lease A last renewed had at most LEASE_SECONDS left; B looks every 0.5 s.
        assert resumed["at"] - killed_at <= LEASE_SECONDS + 2, resumed["at"] - killed_at
        print(f"resumed on b {resumed['at'] - killed_at:.2f} s after a was killed (lease {LEASE_SECONDS} s)")

        # The SSE client reconnects to B with the last id it saw on A and misses nothing.
        rest = events(on_b, run_id, last_event_id=seen_on_a[-1]["seq"])
        assert [e["seq"] for e in seen_on_a + rest] == list(range(1, journal[-1]["seq"] + 1))

    finished_steps = [e["data"]["step_id"] for e in journal if e["type"] == "step_finished"]
    assert sorted(finished_steps) == ["s1", "s2", "s3", "s4"]  # one outcome per step
    retried = {e["data"]["step_id"] for e in journal if e["type"] == "step_started" and e["data"].get("retry")}
    assert retried <= {"s3"}  # only the step in flight at the kill can have been sent twice
    for n in (1, 2, 3, 4):
        runs = lab[1].runs[("slow_echo", f"{tag}-{n}")]
        # Completed steps ran exactly once; the read-only step in flight may have finished on A too.
        assert runs == 1 or (f"s{n}" in retried and runs == 2), (n, runs)
    # A resent call carries the same idempotency key as the first, so a server can recognise it.
    keys = [key for key in lab[1].idempotency_keys if key.startswith(f"{run_id}/")]
    assert sorted(set(keys)) == [f"{run_id}/s{n}/1" for n in (1, 2, 3, 4)]
    assert len(keys) == 4 + len(retried)


def test_a_destructive_step_in_flight_stops_the_resumed_run_in_needs_attention(
    lab: tuple[str, LabState], store_env: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = store_env
    tag = uuid.uuid4().hex[:8]
    with two_replicas({**replica_env(url, lab[0]), **env}, tmp_path) as (running, on_a, on_b):
        run_id = start(on_a, chain(tag, steps=3, seconds=4, apply_at=2))
        wait_until(lambda: lab[1].runs[("apply", f"{tag}-2")] == 1, 30, "the change to reach the lab server")
        running["a"].process.send_signal(signal.SIGKILL)

        run = finished(on_b, run_id, timeout=30)
    assert run["status"] == "needs_attention", run
    assert "lab.apply" in run["error"] and f"{tag}-2" in run["error"] and "not retried" in run["error"]
    assert lab[1].runs[("apply", f"{tag}-2")] == 1  # applied at most once: never resent
    assert lab[1].runs[("slow_echo", f"{tag}-3")] == 0  # and nothing after it ran
    steps = {step["id"]: step["status"] for step in run["steps"]}
    assert steps == {"s1": "succeeded", "s2": "cancelled"}


def test_sigterm_hands_runs_off_at_a_step_boundary_none_lost_none_repeated(
    lab: tuple[str, LabState], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    with two_replicas(replica_env(f"sqlite:///{tmp_path}/runs.db", lab[0]), tmp_path) as (running, on_a, on_b):
        run_ids = [start(on_a, chain(f"{tag}{n}", steps=4, seconds=0.5)) for n in range(5)]
        wait_until(lambda: all(step_started(on_b, run_id, "s2") for run_id in run_ids), 20, "every run at s2")
        stopping = time.monotonic()
        running["a"].process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once its shutdown is complete, so the exit status names SIGTERM.
        assert running["a"].process.wait(timeout=30) in (0, -signal.SIGTERM)
        stopped_in = time.monotonic() - stopping
        assert "Application shutdown complete" in (tmp_path / "a.log").read_text()

        runs = [finished(on_b, run_id, timeout=30) for run_id in run_ids]
        journals = [events(on_b, run_id) for run_id in run_ids]
    assert [run["status"] for run in runs] == ["succeeded"] * 5, runs
    # A waited for the calls in flight (0.5 s each), not for the runs (2 s each), nor for its leases to lapse.
    assert stopped_in < 10, stopped_in
    for journal in journals:
        kinds = [event["type"] for event in journal]
        assert "run_handed_off" in kinds and "run_resumed" in kinds
        handed_off = next(e["at"] for e in journal if e["type"] == "run_handed_off")
        resumed = next(e["at"] for e in journal if e["type"] == "run_resumed")
        # Let go explicitly, so taken at B's next look (every 0.5 s here), not after the lease lapses (3 s).
        assert resumed - handed_off < 2, resumed - handed_off
        assert not any(e["data"].get("retry") for e in journal if e["type"] == "step_started")
    for n in range(5):
        for step in (1, 2, 3, 4):
            assert lab[1].runs[("slow_echo", f"{tag}{n}-{step}")] == 1, (n, step)


def test_a_cancel_or_an_approval_on_one_replica_reaches_the_run_on_another(
    lab: tuple[str, LabState], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    env = {**replica_env(f"sqlite:///{tmp_path}/runs.db", lab[0]), "AGENTIC_AUTO_APPROVE": ""}
    with two_replicas(env, tmp_path) as (_, on_a, on_b):
        # Cancelled on B while A runs it: A stops it mid-call, within its heartbeat.
        slow = start(on_a, chain(f"{tag}c", steps=3, seconds=5))
        wait_until(lambda: step_started(on_b, slow, "s1"), 20, "the slow step to start")
        assert on_b.post(f"/api/runs/{slow}/cancel").status_code == 202
        cancelled = finished(on_b, slow, timeout=10)
        assert cancelled["status"] == "cancelled", cancelled
        (first,) = cancelled["steps"]
        # Stopped in the middle of the 5 s call, by A's heartbeat, not when the call ended.
        assert first["status"] == "cancelled" and cancelled["finished_at"] - first["started_at"] < 4, cancelled

        # Approved on B while A waits for it: A runs the step.
        gated = start(on_a, chain(f"{tag}g", steps=1, seconds=0, apply_at=1))
        pending = wait_until(lambda: next(iter(pending_approvals(on_b, gated)), None), 20, "an approval")
        decided = on_b.post(
            f"/api/runs/{gated}/approvals",
            json={"decision": "approve", "approval_id": pending["id"], "arguments_hash": pending["arguments_hash"]},
        )
        assert decided.status_code == 200, decided.text
        done = finished(on_a, gated, timeout=20)
    assert done["status"] == "succeeded", done
    assert lab[1].runs[("apply", f"{tag}g-1")] == 1


def test_an_approval_asked_before_the_replica_died_is_waited_on_again_not_asked_twice(
    lab: tuple[str, LabState], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    env = {**replica_env(f"sqlite:///{tmp_path}/runs.db", lab[0]), "AGENTIC_AUTO_APPROVE": ""}
    with two_replicas(env, tmp_path) as (running, on_a, on_b):
        gated = start(on_a, chain(tag, steps=1, seconds=0, apply_at=1))
        pending = wait_until(lambda: next(iter(pending_approvals(on_b, gated)), None), 20, "an approval")
        running["a"].process.send_signal(signal.SIGKILL)
        # Decided while nobody runs it: B finds the decision in the journal when it takes the run over.
        decided = on_b.post(
            f"/api/runs/{gated}/approvals",
            json={"decision": "approve", "approval_id": pending["id"], "arguments_hash": pending["arguments_hash"]},
        )
        assert decided.status_code == 200, decided.text
        done = finished(on_b, gated, timeout=20)
        journal = events(on_b, gated)
    assert done["status"] == "succeeded", done
    assert any(e["type"] == "run_resumed" and e["data"]["by"] == "b" for e in journal)
    assert [e["data"]["id"] for e in journal if e["type"] == "approval_requested"] == [pending["id"]]
    assert lab[1].runs[("apply", f"{tag}-1")] == 1


def pending_approvals(http: httpx.Client, run_id: str) -> list[dict[str, object]]:
    response = http.get(f"/api/runs/{run_id}")
    return [approval for approval in response.json()["approvals"] if approval["status"] == "pending"]


def test_a_reasoning_run_continues_its_conversation_instead_of_starting_over(
    lab: tuple[str, LabState], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    with run_fake_openai() as model:
        model.script(
            Reply.calls(FunctionCall("lab__slow_echo", {"text": f"{tag}-slow", "seconds": 3}, id="call_1")),
            Reply.calls(FunctionCall("lab__echo", {"text": f"{tag}-next"}, id="call_2")),
            Reply.text("Both echoes came back."),
        )
        env = {
            **replica_env(f"sqlite:///{tmp_path}/runs.db", lab[0]),
            "AGENTIC_REASONER": "openai",
            "AGENTIC_OPENAI_BASE_URL": model.base_url,
            "AGENTIC_OPENAI_MODEL": "scripted",
        }
        with two_replicas(env, tmp_path) as (running, on_a, on_b):
            response = on_a.post("/api/runs", json={"task": "echo twice"})
            assert response.status_code == 202, response.text
            run_id = response.json()["id"]
            wait_until(lambda: step_started(on_b, run_id, "call-1"), 20, "the first tool call")
            running["a"].process.send_signal(signal.SIGKILL)
            run = finished(on_b, run_id, timeout=30)
        calls = model.calls
    assert run["status"] == "succeeded" and run["final_answer"] == "Both echoes came back.", run
    # Turn 1 was asked once (by A); B read it back from the journal and asked only turns 2 and 3.
    assert len(calls) == 3
    second = calls[1]
    assert [m["role"] for m in second.messages] == ["system", "user", "assistant", "tool"]
    assert second.messages[2]["tool_calls"][0]["id"] == "call_1"
    assert f"{tag}-slow" in second.tool_messages[0]["content"]
    assert [turn["index"] for turn in run["turns"]] == [1, 2, 3]
    assert lab[1].runs[("slow_echo", f"{tag}-slow")] in (1, 2)  # read-only, in flight at the kill: retried


def test_a_hundred_runs_over_three_replicas_one_killed_all_finish_none_duplicated(
    lab: tuple[str, LabState], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    names = ["a", "b", "c"]
    with contextlib.ExitStack() as stack:
        running = stack.enter_context(replicas(replica_env(f"sqlite:///{tmp_path}/runs.db", lab[0]), names, tmp_path))
        clients = {name: stack.enter_context(httpx.Client(base_url=running[name].url, timeout=30)) for name in names}
        run_ids = [start(clients[names[n % 3]], chain(f"{tag}x{n}", steps=3, seconds=0.2)) for n in range(100)]
        time.sleep(0.5)
        running["c"].process.send_signal(signal.SIGKILL)
        runs = [finished(clients["a"], run_id, timeout=60) for run_id in run_ids]
        journals = {run_id: events(clients["b"], run_id) for run_id in run_ids}
    assert [run["status"] for run in runs] == ["succeeded"] * 100, [r for r in runs if r["status"] != "succeeded"]
    resumed = [run_id for run_id, journal in journals.items() if any(e["type"] == "run_resumed" for e in journal)]
    assert resumed, "killing c should have left runs for a and b to resume"
    for run_id, journal in journals.items():
        outcomes = [e["data"]["step_id"] for e in journal if e["type"] == "step_finished"]
        assert sorted(outcomes) == ["s1", "s2", "s3"], (run_id, outcomes)  # exactly one outcome per step
    for n, run_id in enumerate(run_ids):
        retried = {e["data"]["step_id"] for e in journals[run_id] if e["data"].get("retry")}
        for step in (1, 2, 3):
            count = lab[1].runs[("slow_echo", f"{tag}x{n}-{step}")]
            assert count == 1 or (f"s{step}" in retried and count <= 2), (run_id, step, count)
