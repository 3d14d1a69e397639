"""The run view agrees with its journal even when the header was read at another moment than the events."""

from __future__ import annotations

from typing import Any

from apps.agent_core.model import RunEvent, RunHeader
from apps.agent_core.projection import project

REQUESTED = {
    "id": "a1",
    "step_id": "scale",
    "server": "lab",
    "tool": "scale",
    "arguments": {"target": "web", "replicas": 3},
    "arguments_hash": "h",
    "requested_at": 1.0,
    "expires_at": 901.0,
}


def header(status: str) -> RunHeader:
    return RunHeader.model_validate(
        {
            "id": "r1",
            "kind": "workflow",
            "status": status,
            "owner": "local",
            "title": "scale_web",
            "request": {},
            "reasoner": "offline",
            "created_at": 0.0,
            "updated_at": 0.0,
        }
    )


def event(seq: int, kind: str, data: dict[str, Any]) -> RunEvent:
    return RunEvent.model_validate({"run_id": "r1", "seq": seq, "type": kind, "data": data, "at": float(seq)})


def test_a_header_newer_than_the_events_never_shows_a_wait_without_its_approval() -> None:
    """The header says awaiting_approval, the events were read before approval_requested was journaled."""
    view = project(header("awaiting_approval"), [])
    assert view.status == "running"


def test_a_header_older_than_the_events_shows_the_wait_the_journal_holds() -> None:
    view = project(header("running"), [event(1, "approval_requested", REQUESTED)])
    assert view.status == "awaiting_approval"
    assert [approval.status for approval in view.approvals] == ["pending"]


def test_a_decided_approval_is_no_longer_a_wait_even_if_the_header_still_says_so() -> None:
    decided = {"approval_id": "a1", "decision": "approve", "decided_by": "local"}
    events = [event(1, "approval_requested", REQUESTED), event(2, "approval_decided", decided)]
    view = project(header("awaiting_approval"), events)
    assert view.status == "running"
