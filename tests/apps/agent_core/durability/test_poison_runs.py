"""Runs that would move between replicas forever are stopped: poison runs are failed, cancels win over resumes.

The replica-level tests run real ``python -m apps.agent_core`` processes on one SQLite store. A replica
that stalls (as one blocked by a poison input would) is frozen with SIGSTOP: its lease runs out while
its step is in flight, another replica takes the run over, and the stalled one, thawed with SIGCONT,
finds its lease gone and stops. Leases last 3 s here; replicas look for orphans every 0.5 s.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from apps.agent_core.model import EventType, RunEvent
from apps.agent_core.runs.events import Recorded, read
from apps.agent_core.runs.replay import Replay
from tests.apps.agent_core.durability.support import (
    finished,
    replica_env,
    start,
    step_started,
    stored_events,
    two_replicas,
    wait_until,
)
from tests.support.lab_server import LabState

MAX_RESUMES = 3


def journal(*types: EventType) -> list[Recorded]:
    data: dict[EventType, dict[str, Any]] = {
        "run_started": {"kind": "workflow", "reasoner": "offline"},
        "cancel_requested": {"by": "alice"},
        "step_started": {"step_id": "s1", "server": "lab", "tool": "slow_echo", "attempt": 1},
        "step_finished": {"step_id": "s1", "status": "succeeded", "attempt": 1},
        "run_resumed": {"by": "b"},
        "run_handed_off": {"by": "a", "reason": "shutting down"},
        "model_turn": {"index": 1, "model": None, "text": "thinking", "stop_reason": "end_turn"},
    }
    return [
        read(RunEvent(run_id="r", seq=seq, type=kind, data=data.get(kind, {}), at=float(seq)))
        for seq, kind in enumerate(types, 1)
    ]


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (("run_started", "step_started", "run_resumed", "run_resumed", "run_resumed"), 3),
        # A step outcome or a model turn since a resume is progress: counting starts again.
        (("run_started", "run_resumed", "run_resumed", "step_finished", "run_resumed"), 1),
        (("run_started", "run_resumed", "model_turn", "run_resumed", "run_resumed"), 2),
        # A replica shutting down hands its runs off cleanly: the resume that follows is not a strike.
        (("run_started", "run_handed_off", "run_resumed", "run_handed_off", "run_resumed", "run_resumed"), 1),
        (("run_started", "step_started"), 0),
    ],
)
def test_resumes_without_progress_are_counted_from_the_journal(types: tuple[EventType, ...], expected: int) -> None:
    assert Replay.from_events(journal(*types)).resumes_without_progress == expected


def test_a_recorded_cancel_is_read_from_the_journal() -> None:
    assert Replay.from_events(journal("run_started", "cancel_requested", "run_resumed")).cancel_requested
    assert not Replay.from_events(journal("run_started", "run_resumed")).cancel_requested


# --- real replicas ---------------------------------------------------------------------------------------


def resumes(store_url: str, run_id: str) -> list[RunEvent]:
    return [event for event in stored_events(store_url, run_id) if event.type == "run_resumed"]


def one_stalling_step(tag: str) -> dict[str, Any]:
    """One read-only 5 s step: safe to retry, so each replica that takes the run over calls it again."""
    return {
        "name": "stalls",
        "steps": [{"id": "s1", "tool": "lab.slow_echo", "arguments": {"text": tag, "seconds": 5}}],
    }


@pytest.mark.slow
def test_a_run_that_stalls_every_replica_it_moves_to_is_failed_after_max_resumes(
    lab: tuple[str, LabState], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    tag = uuid.uuid4().hex[:8]
    env = replica_env(url, lab[0], AGENTIC_MAX_RESUMES=str(MAX_RESUMES))
    with two_replicas(env, tmp_path) as (running, on_a, on_b):
        processes = {name: service.process for name, service in running.items()}
        clients = {"a": on_a, "b": on_b}
        try:
            run_id = start(on_a, one_stalling_step(tag))
            wait_until(lambda: step_started(on_b, run_id, "s1"), 20, "s1 to start on a")
            owner, other = "a", "b"
            for count in range(1, MAX_RESUMES + 2):
                # The owner stalls mid-step past its lease; the other replica (thawed if it was the last to
                # stall: it finds its lease taken and stops) takes the run over.
                processes[owner].send_signal(signal.SIGSTOP)
                processes[other].send_signal(signal.SIGCONT)
                if count > MAX_RESUMES:
                    break
                wait_until(lambda: len(resumes(url, run_id)) == count, 30, f"takeover {count}")  # noqa: B023
                assert resumes(url, run_id)[-1].data["by"] == other
                owner, other = other, owner
            run = finished(clients[other], run_id, timeout=30)
        finally:
            for process in processes.values():
                process.send_signal(signal.SIGCONT)

    assert run["status"] == "failed", run
    assert f"taken over {MAX_RESUMES} times (AGENTIC_MAX_RESUMES is {MAX_RESUMES})" in run["error"], run["error"]
    assert "In flight when it last stopped: s1 (lab.slow_echo)" in run["error"], run["error"]
    events = stored_events(url, run_id)
    assert len([event for event in events if event.type == "run_resumed"]) == MAX_RESUMES  # not a fourth time
    assert not [event for event in events if event.type == "step_finished"]  # no progress was ever made
    assert events[-1].type == "run_finished" and events[-1].data["status"] == "failed"


@pytest.mark.slow
def test_a_run_cancelled_while_its_replica_stalled_ends_cancelled_and_is_never_resumed(
    lab: tuple[str, LabState], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    tag = uuid.uuid4().hex[:8]
    with two_replicas(replica_env(url, lab[0]), tmp_path) as (running, on_a, on_b):
        stalled = running["a"].process
        try:
            run_id = start(on_a, one_stalling_step(tag))
            wait_until(lambda: step_started(on_b, run_id, "s1"), 20, "s1 to start on a")
            stalled.send_signal(signal.SIGSTOP)  # a cannot see the cancel: its heartbeat is frozen
            assert on_b.post(f"/api/runs/{run_id}/cancel").status_code == 202
            run = finished(on_b, run_id, timeout=30)  # b takes the run over once a's lease runs out
        finally:
            stalled.send_signal(signal.SIGCONT)

    assert run["status"] == "cancelled", run
    assert run["error"].startswith("cancelled on request; the run was not resumed."), run["error"]
    events = stored_events(url, run_id)
    kinds = [event.type for event in events]
    assert "run_resumed" not in kinds, kinds
    assert kinds.count("step_started") == 1, kinds  # the read-only step in flight was not retried either
    assert kinds[-1] == "run_finished"
