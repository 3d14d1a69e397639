"""Two people decide one approval at the same moment, on two replicas: one decision wins, and everything agrees on it.

Two agent cores share one SQLite store; a run waits on core A for approval of ``lab.scale``; an approve
sent to A and a reject sent to B leave at once (a barrier releases both threads). Whatever wins, the
losing request gets 409, the journal holds exactly one decision, the view's approval and step say
what the tool did (``lab.scale`` called once after an approve, never after a reject), and the
loser's attempt is never journaled as a decision.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.agent_core import TERMINAL, CoreClient, run_agent_core
from tests.support.lab_server import LabState, run_lab_server

TRIES = 20
SCALE = {
    "name": "scale_web",
    "steps": [{"id": "scale", "tool": "lab.scale", "arguments": {"target": "web", "replicas": 3}}],
}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CoreClient, CoreClient, LabState]]:
    state_dir = tmp_path_factory.mktemp("race")
    with (
        run_lab_server() as (url, lab),
        run_agent_core({"lab": url}, state_dir, replica_id="replica-a") as first,
        run_agent_core({"lab": url}, state_dir, replica_id="replica-b") as second,
    ):
        yield first, second, lab


def _events(core: CoreClient, run_id: str) -> list[dict[str, Any]]:
    with core.http.stream("GET", f"/api/runs/{run_id}/events") as response:
        lines = [line for line in response.iter_lines() if line.startswith("event: ")]
    return [{"type": line.removeprefix("event: ")} for line in lines]


def _decide_at_once(a: CoreClient, b: CoreClient, run_id: str, approval: dict[str, Any]) -> dict[str, int]:
    approve = {"decision": "approve", "approval_id": approval["id"], "arguments_hash": approval["arguments_hash"]}
    reject = {"decision": "reject", "approval_id": approval["id"], "reason": "not now"}
    barrier = threading.Barrier(2, timeout=10)
    statuses: dict[str, int] = {}

    def send(name: str, core: CoreClient, body: dict[str, Any]) -> None:
        barrier.wait()
        statuses[name] = core.http.post(f"/api/runs/{run_id}/approvals", json=body).status_code

    threads = [
        threading.Thread(target=send, args=("approve", a, approve)),
        threading.Thread(target=send, args=("reject", b, reject)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def test_simultaneous_approve_and_reject_agree_with_what_the_tool_did(
    replicas: tuple[CoreClient, CoreClient, LabState],
) -> None:
    a, b, lab = replicas
    outcomes: list[str] = []
    refused_by_store = 0
    for _ in range(TRIES):
        calls_before = lab.calls["scale"]
        run_id = a.start({"workflow": SCALE})
        waiting = a.wait_for(run_id, {"awaiting_approval"})
        [approval] = waiting["approvals"]
        statuses = _decide_at_once(a, b, run_id, approval)
        assert sorted(statuses.values()) == [200, 409], statuses
        run = a.wait_for(run_id, TERMINAL)
        on_b = b.run(run_id)
        ran = lab.calls["scale"] - calls_before
        winner = "approve" if statuses["approve"] == 200 else "reject"
        outcomes.append(winner)
        [decided] = run["approvals"]
        [step] = run["steps"]
        if winner == "approve":
            assert (decided["status"], step["status"], run["status"], ran) == ("approved", "succeeded", "succeeded", 1)
        else:
            assert (decided["status"], step["status"], run["status"], ran) == ("rejected", "rejected", "failed", 0)
        assert on_b["approvals"] == run["approvals"] and on_b["steps"] == run["steps"]
        kinds = [event["type"] for event in _events(b, run_id)]
        # The loser is refused by the store when both passed the view's check at once (journaled as refused),
        # or by the view when the winner had already landed (nothing journaled): never as a second decision.
        assert kinds.count("approval_decided") == 1 and kinds.count("approval_decision_refused") <= 1
        refused_by_store += kinds.count("approval_decision_refused")
    print(
        f"\n{TRIES} races: approve won {outcomes.count('approve')}, reject won {outcomes.count('reject')}; "
        f"the store refused the loser {refused_by_store} times"
    )


def test_a_decision_after_the_winner_is_refused_naming_it(
    replicas: tuple[CoreClient, CoreClient, LabState],
) -> None:
    a, b, _ = replicas
    run_id = a.start({"workflow": SCALE})
    [approval] = a.wait_for(run_id, {"awaiting_approval"})["approvals"]
    first = b.http.post(f"/api/runs/{run_id}/approvals", json={"decision": "reject", "approval_id": approval["id"]})
    assert first.status_code == 200
    late = a.http.post(f"/api/runs/{run_id}/approvals", json={"decision": "reject", "approval_id": approval["id"]})
    assert late.status_code == 409 and "already decided (rejected)" in late.json()["message"]
