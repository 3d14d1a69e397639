"""The run view agrees with its journal even when the header was read at another moment than the events."""

from __future__ import annotations

from typing import Any

from apps.agent_core.model import RunEvent, RunHeader
from apps.agent_core.projection import project
from apps.agent_core.runs.events import Recorded, read

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


def event(seq: int, kind: str, data: dict[str, Any]) -> Recorded:
    return read(RunEvent.model_validate({"run_id": "r1", "seq": seq, "type": kind, "data": data, "at": float(seq)}))


STARTED = event(1, "run_started", {"kind": "workflow", "reasoner": "offline"})


def test_a_header_newer_than_the_events_never_shows_a_wait_without_its_approval() -> None:
    """The header says awaiting_approval, the events were read before approval_requested was journaled."""
    view = project(header("awaiting_approval"), [STARTED])
    assert view.status == "running"


def test_a_run_whose_journal_holds_nothing_yet_is_queued_whatever_the_header_says() -> None:
    assert project(header("running"), []).status == "queued"


def test_a_header_older_than_the_events_shows_the_wait_the_journal_holds() -> None:
    view = project(header("running"), [STARTED, event(2, "approval_requested", REQUESTED)])
    assert view.status == "awaiting_approval"
    assert [approval.status for approval in view.approvals] == ["pending"]


def test_a_decided_approval_is_no_longer_a_wait_even_if_the_header_still_says_so() -> None:
    decided = {"approval_id": "a1", "decision": "approved", "decided_by": "local"}
    events = [STARTED, event(2, "approval_requested", REQUESTED), event(3, "approval_decided", decided)]
    view = project(header("awaiting_approval"), events)
    assert view.status == "running"


def test_the_first_decision_of_an_old_journal_is_the_decision() -> None:
    """Journals written before decisions were made once in the store may hold two; the step acted on the first."""
    rejected = {"approval_id": "a1", "decision": "rejected", "decided_by": "bob"}
    approved = {"approval_id": "a1", "decision": "approved", "decided_by": "alice"}
    events = [
        STARTED,
        event(2, "approval_requested", REQUESTED),
        event(3, "approval_decided", approved),
        event(4, "approval_decided", rejected),
    ]
    [approval] = project(header("running"), events).approvals
    assert (approval.status, approval.decided_by) == ("approved", "alice")


def test_the_ending_comes_from_the_journal_not_a_header_read_before_it_landed() -> None:
    ended = event(3, "run_finished", {"status": "failed", "final_answer": "no", "error": "the tool failed"})
    view = project(header("running"), [STARTED, event(2, "cancel_requested", {"by": "x"}), ended])
    assert (view.status, view.error, view.finished_at) == ("failed", "the tool failed", 3.0)


def test_a_recovered_step_shows_the_fallback_that_stood_in_for_it() -> None:
    events = [
        STARTED,
        event(2, "step_started", {"step_id": "count", "server": "lab", "tool": "count"}),
        event(3, "step_finished", {"step_id": "count", "status": "failed", "error": "down"}),
        event(4, "step_started", {"step_id": "count_again", "server": "lab", "tool": "count"}),
        event(5, "step_finished", {"step_id": "count_again", "status": "succeeded", "result": 7}),
        event(6, "step_recovered", {"step_id": "count", "fallback_step_id": "count_again"}),
    ]
    steps = {step.id: step for step in project(header("running"), events).steps}
    assert (steps["count"].status, steps["count"].recovered_by, steps["count"].error) == (
        "recovered",
        "count_again",
        "down",
    )
