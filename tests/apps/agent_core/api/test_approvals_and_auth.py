"""Approvals (pause, reject, wrong arguments, approve, expiry, single use) and API keys with roles."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.agent_core import TERMINAL, CoreClient, Keys, make_keys, run_agent_core
from tests.support.lab_server import LabState, run_lab_server

SCALE = {
    "name": "scale_web",
    "steps": [{"id": "scale", "tool": "lab.scale", "arguments": {"target": "web", "replicas": 3}}],
}


@pytest.fixture
def lab() -> Iterator[tuple[str, LabState]]:
    with run_lab_server() as served:
        yield served


def pending_approval(core: CoreClient, run_id: str, key: str | None = None) -> dict[str, Any]:
    run = core.wait_for(run_id, {"awaiting_approval"}, key=key)
    [approval] = [a for a in run["approvals"] if a["status"] == "pending"]
    return approval


def test_destructive_step_waits_then_rejection_stops_it(lab: tuple[str, LabState], tmp_path: Path) -> None:
    url, state = lab
    with run_agent_core({"lab": url}, tmp_path) as core:
        run_id = core.start({"workflow": SCALE})
        approval = pending_approval(core, run_id)
        assert (approval["server"], approval["tool"], approval["arguments"]) == (
            "lab",
            "scale",
            {"target": "web", "replicas": 3},
        )
        assert state.calls["scale"] == 0, "nothing runs before a decision"
        response = core.http.post(f"/api/runs/{run_id}/approvals", json={"decision": "reject", "reason": "not now"})
        assert response.status_code == 200
        run = core.wait_for(run_id, TERMINAL)
    assert run["status"] == "failed"
    assert run["steps"][0]["status"] == "rejected"
    assert run["approvals"][0]["status"] == "rejected" and run["approvals"][0]["reason"] == "not now"
    assert state.calls["scale"] == 0


def test_approval_is_bound_to_the_exact_arguments_and_single_use(lab: tuple[str, LabState], tmp_path: Path) -> None:
    url, state = lab
    with run_agent_core({"lab": url}, tmp_path) as core:
        run_id = core.start({"workflow": SCALE})
        approval = pending_approval(core, run_id)
        other = {"decision": "approve", "arguments": {"target": "web", "replicas": 30}}
        refused = core.http.post(f"/api/runs/{run_id}/approvals", json=other)
        assert refused.status_code == 409 and "not the arguments" in refused.json()["message"]
        missing = core.http.post(f"/api/runs/{run_id}/approvals", json={"decision": "approve"})
        assert missing.status_code == 409
        assert core.run(run_id)["status"] == "awaiting_approval"

        exact = {"decision": "approve", "approval_id": approval["id"], "arguments_hash": approval["arguments_hash"]}
        decided = core.http.post(f"/api/runs/{run_id}/approvals", json=exact)
        assert decided.status_code == 200 and decided.json()["status"] != "awaiting_approval"
        run = core.wait_for(run_id, TERMINAL)
        again = core.http.post(f"/api/runs/{run_id}/approvals", json=exact)
    assert run["status"] == "succeeded"
    assert run["approvals"][0]["status"] == "approved" and run["approvals"][0]["decided_by"] == "local"
    assert state.calls["scale"] == 1
    assert again.status_code == 409, "an approval is used once"


def test_an_unanswered_approval_expires_and_the_step_never_runs(lab: tuple[str, LabState], tmp_path: Path) -> None:
    url, state = lab
    with run_agent_core({"lab": url}, tmp_path, approval_ttl_seconds=1) as core:
        run_id = core.start({"workflow": SCALE})
        approval = pending_approval(core, run_id)
        time.sleep(1.2)
        late = core.http.post(
            f"/api/runs/{run_id}/approvals",
            json={"decision": "approve", "arguments": approval["arguments"]},
        )
        run = core.wait_for(run_id, TERMINAL)
    assert late.status_code in (409, 410)
    assert run["approvals"][0]["status"] == "expired"
    assert run["steps"][0]["status"] == "rejected" and "expired" in run["steps"][0]["error"]
    assert state.calls["scale"] == 0


def test_auto_approve_lets_a_named_tool_through(lab: tuple[str, LabState], tmp_path: Path) -> None:
    url, state = lab
    with run_agent_core({"lab": url}, tmp_path, auto_approve=("lab.scale",)) as core:
        run = core.wait_for(core.start({"workflow": SCALE}), TERMINAL)
    assert run["status"] == "succeeded" and run["approvals"] == []
    assert state.calls["scale"] == 1


@pytest.fixture
def keys() -> Keys:
    return make_keys()


def test_keys_and_roles(lab: tuple[str, LabState], tmp_path: Path, keys: Keys) -> None:
    url, state = lab
    with run_agent_core({"lab": url}, tmp_path, api_keys=keys.entries_json) as core:
        body = {"workflow": SCALE}
        assert core.http.post("/api/runs", json=body).status_code == 401
        wrong = core.http.post("/api/runs", json=body, headers={"Authorization": "Bearer awp_not-a-key"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
        viewer = {"Authorization": f"Bearer {keys.viewer}"}
        assert core.http.post("/api/runs", json=body, headers=viewer).status_code == 403
        assert core.http.get("/api/runs", headers=viewer).status_code == 200
        assert core.http.get("/api/me", headers=viewer).json() == {"name": "viewer-user", "roles": ["viewer"]}
        trigger_only = {"Authorization": f"Bearer {keys.trigger}"}
        assert core.http.get("/api/me", headers=trigger_only).status_code == 403, "a trigger key reads nothing"
        assert core.http.get("/health").status_code == 200, "probes stay open"
        assert core.http.get("/metrics").status_code == 200

        run_id = core.start(body, key=keys.operator)
        approval = pending_approval(core, run_id, key=keys.viewer)
        decision = {"decision": "approve", "arguments": approval["arguments"]}
        operator = {"Authorization": f"Bearer {keys.operator}"}
        assert core.http.post(f"/api/runs/{run_id}/approvals", json=decision, headers=operator).status_code == 403
        approver = {"Authorization": f"Bearer {keys.approver}"}
        assert core.http.post(f"/api/runs/{run_id}/approvals", json=decision, headers=approver).status_code == 200
        run = core.wait_for(run_id, TERMINAL, key=keys.viewer)
        assert core.http.post(f"/api/runs/{run_id}/cancel", headers=viewer).status_code == 403
    assert run["owner"] == "operator-user"
    assert run["approvals"][0]["decided_by"] == "approver-user"
    assert state.calls["scale"] == 1
