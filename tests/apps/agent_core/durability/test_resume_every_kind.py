"""Every kind of run waiting for an approval survives the death of its replica, and the approval still decides it.

Three kinds of run: a task planned by the offline reasoner (the default with no model configured, whose turns are
journaled with no model), a task reasoned by a model (the fake OpenAI server), and a workflow. Each run reads with
``lab.slow_echo`` and then applies a change with ``lab.apply``, which is destructive and so waits for a person.
With two runs of each kind waiting, replica ``a`` is SIGKILLed and ``b`` takes them over; then, through ``b``'s API,
one run of each kind is approved and the other cancelled. Before the fix, ``b`` could not resume an offline task
("could not resume a run", every lease period, forever), so approving it or cancelling it changed nothing.

The processes are shared by the tests of a reasoner: one pair of real ``python -m apps.agent_core`` processes on a
SQLite store for the offline runs, one for the model's. Leases last 3 s; replicas look for orphans every 0.5 s.
(A workflow whose approval is decided *before* the takeover: ``test_failover.py``.)
"""

from __future__ import annotations

import contextlib
import re
import signal
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from tests.apps.agent_core.durability.support import (
    chain,
    finished,
    log_lines,
    replica_env,
    run_view,
    stored_events,
    two_replicas,
    wait_until,
)
from tests.support.fake_openai import ChatCall, FakeOpenAI, FunctionCall, Reply, run_fake_openai
from tests.support.lab_server import LabState

pytestmark = pytest.mark.slow

Kind = Literal["offline task", "model task", "workflow"]
Ending = Literal["approved", "cancelled"]
KINDS: tuple[Kind, ...] = ("offline task", "model task", "workflow")
ENDINGS: tuple[Ending, ...] = ("approved", "cancelled")
RESUME_FAILED = "could not resume a run"
TASK = "slow_echo the text {tag}-1, then apply the change {tag}-2"
"""The offline planner turns this into ``lab.slow_echo(text=<tag>-1)`` and ``lab.apply(change=<tag>-2)``."""
TAG = re.compile(r"the text ([0-9a-f]{10})-1")


@dataclass(frozen=True)
class Waiting:
    """A run that was waiting for an approval when its replica was killed."""

    run_id: str
    tag: str
    approval: dict[str, Any]
    """The pending approval as ``b`` showed it before the kill."""


@dataclass(frozen=True)
class Scene:
    """Replica ``b`` after it took over the waiting runs of the dead replica ``a``."""

    store_url: str
    on_b: httpx.Client
    log: Path
    """``b``'s log."""
    waiting: dict[tuple[Kind, Ending], Waiting]
    model: FakeOpenAI | None


def model_answer(call: ChatCall) -> Reply:
    """What the model says to any of the runs: read and apply in its first turn, a summary once results are in."""
    found = TAG.search(call.last_user_text)
    assert found is not None, call.last_user_text
    tag = found.group(1)
    if not call.tool_messages:
        return Reply.calls(
            FunctionCall("lab__slow_echo", {"text": f"{tag}-1", "seconds": 0}, id=f"read_{tag}"),
            FunctionCall("lab__apply", {"change": f"{tag}-2"}, id=f"apply_{tag}"),
        )
    return Reply.text(f"Read {tag}-1 and applied {tag}-2.")


def start_waiting(http: httpx.Client, kind: Kind, tag: str) -> str:
    body = (
        {"workflow": chain(tag, steps=2, seconds=0, apply_at=2)}
        if kind == "workflow"
        else {"task": TASK.format(tag=tag)}
    )
    response = http.post("/api/runs", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def pending(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [approval for approval in view["approvals"] if approval["status"] == "pending"]


def waiting_with_the_read_done(http: httpx.Client, run_id: str) -> dict[str, Any] | None:
    """The run's pending approval once the read before it has finished (so it is journaled, never rerun)."""
    view = run_view(http, run_id)
    read = any(step["tool"] == "slow_echo" and step["status"] == "succeeded" for step in view["steps"])
    approvals = pending(view)
    return approvals[0] if read and len(approvals) == 1 else None


def resume_failures(scene: Scene, run: Waiting) -> list[str]:
    """``b``'s log lines saying it could not resume this run (the log is shared by all the runs b took over)."""
    return [line for line in log_lines(scene.log, RESUME_FAILED) if run.run_id in line]


def resumed_by_b(store_url: str, run_id: str) -> bool:
    return any(e.type == "run_resumed" and e.data.get("by") == "b" for e in stored_events(store_url, run_id))


@contextlib.contextmanager
def taken_over(kinds: list[Kind], lab_url: str, model: FakeOpenAI | None, logs: Path) -> Iterator[Scene]:
    """Starts two runs of each kind on ``a``, kills ``a`` once they wait for approval, waits for ``b`` to take over."""
    store_url = f"sqlite:///{logs}/runs.db"
    env = {**replica_env(store_url, lab_url), "AGENTIC_AUTO_APPROVE": ""}
    if model is not None:
        env |= {
            "AGENTIC_REASONER": "openai",
            "AGENTIC_OPENAI_BASE_URL": model.base_url,
            "AGENTIC_OPENAI_MODEL": "scripted",
        }
        # One answer per request, whichever run asks: two first turns per kind, and one more for each approved run.
        model.script(*[model_answer] * (3 * len(kinds) + 2))
    with two_replicas(env, logs) as (running, on_a, on_b):
        started = {}
        for kind in kinds:
            for ending in ENDINGS:
                tag = uuid.uuid4().hex[:10]
                started[(kind, ending)] = (start_waiting(on_a, kind, tag), tag)
        waiting = {
            case: Waiting(
                run_id,
                tag,
                wait_until(
                    lambda run_id=run_id: waiting_with_the_read_done(on_b, run_id), 30, f"{case} to wait for approval"
                ),
            )
            for case, (run_id, tag) in started.items()
        }
        running["a"].process.send_signal(signal.SIGKILL)
        scene = Scene(store_url, on_b, logs / "b.log", waiting, model)
        # Bounded by the lease (3 s) and b's look for orphans (every 0.5 s); a run b failed to resume is done with.
        wait_until(
            lambda: all(resumed_by_b(store_url, r.run_id) or resume_failures(scene, r) for r in waiting.values()),
            30,
            "b to take the runs over",
        )
        yield scene


@pytest.fixture(scope="module")
def scenes(lab: tuple[str, LabState], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Kind], Scene]]:
    """The scene a kind of run is in, built when a test first needs it and shared by the module's tests."""
    with contextlib.ExitStack() as stack:
        built: dict[bool, Scene] = {}

        def scene_of(kind: Kind) -> Scene:
            with_model = kind == "model task"
            if with_model not in built:
                kinds = [k for k in KINDS if (k == "model task") == with_model]
                model = stack.enter_context(run_fake_openai()) if with_model else None
                logs = tmp_path_factory.mktemp("with-model" if with_model else "offline")
                built[with_model] = stack.enter_context(taken_over(kinds, lab[0], model, logs))
            return built[with_model]

        yield scene_of


def assert_resumed_by_b(scene: Scene, run: Waiting) -> None:
    failures = resume_failures(scene, run)
    # The line ends with the exception that stopped the resume.
    assert not failures, f"b could not resume {run.run_id}, {len(failures)} times; the last: …{failures[-1][-700:]}"
    assert resumed_by_b(scene.store_url, run.run_id)


@pytest.mark.parametrize("kind", KINDS)
def test_approved_after_the_takeover_the_step_runs_once_and_the_run_finishes(
    scenes: Callable[[Kind], Scene], lab: tuple[str, LabState], kind: Kind
) -> None:
    scene = scenes(kind)
    run = scene.waiting[(kind, "approved")]
    assert_resumed_by_b(scene, run)
    # b waits on the approval asked before the kill: it still shows, and no second one is asked.
    view = wait_until(
        lambda: (view := run_view(scene.on_b, run.run_id))["status"] == "awaiting_approval" and view,
        10,
        "the resumed run to wait for its approval",
    )
    assert [approval["id"] for approval in pending(view)] == [run.approval["id"]], view

    decided = scene.on_b.post(
        f"/api/runs/{run.run_id}/approvals",
        json={
            "decision": "approve",
            "approval_id": run.approval["id"],
            "arguments_hash": run.approval["arguments_hash"],
        },
    )
    assert decided.status_code == 200, decided.text
    done = finished(scene.on_b, run.run_id, timeout=30)

    assert done["status"] == "succeeded", done
    assert [(a["id"], a["status"]) for a in done["approvals"]] == [(run.approval["id"], "approved")]
    assert lab[1].runs[("apply", f"{run.tag}-2")] == 1  # the approved change ran, once
    assert lab[1].runs[("slow_echo", f"{run.tag}-1")] == 1  # the read finished before the kill was not rerun
    assert not resume_failures(scene, run)
    if scene.model is not None:
        # Turn 1 was asked by a; b read it back from the journal and asked only turn 2, with both results.
        asked = [call for call in scene.model.calls if run.tag in call.last_user_text]
        assert [len(call.tool_messages) for call in asked] == [0, 2]
        assert done["final_answer"] == f"Read {run.tag}-1 and applied {run.tag}-2.", done


@pytest.mark.parametrize("kind", KINDS)
def test_cancelled_after_the_takeover_the_run_ends_cancelled_and_nothing_is_applied(
    scenes: Callable[[Kind], Scene], lab: tuple[str, LabState], kind: Kind
) -> None:
    scene = scenes(kind)
    run = scene.waiting[(kind, "cancelled")]
    assert_resumed_by_b(scene, run)

    assert scene.on_b.post(f"/api/runs/{run.run_id}/cancel").status_code == 202
    done = finished(scene.on_b, run.run_id, timeout=20)

    assert done["status"] == "cancelled", done
    assert [(a["id"], a["status"]) for a in done["approvals"]] == [(run.approval["id"], "cancelled")]
    assert lab[1].runs[("apply", f"{run.tag}-2")] == 0
    assert not resume_failures(scene, run)
    if scene.model is not None:
        assert len([call for call in scene.model.calls if run.tag in call.last_user_text]) == 1  # never re-asked
