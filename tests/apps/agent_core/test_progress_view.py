"""A running step shows its tool's last progress report; a finished one does not; replay takes no notice."""

from __future__ import annotations

from typing import Any

from apps.agent_core.model import RunEvent, RunHeader, ToolCall, ToolProgress
from apps.agent_core.projection import project
from apps.agent_core.runs.events import Recorded, read
from apps.agent_core.runs.replay import Replay

HEADER = RunHeader.model_validate(
    {
        "id": "r1",
        "kind": "workflow",
        "status": "running",
        "owner": "local",
        "title": "copy",
        "request": {},
        "reasoner": "offline",
        "created_at": 0.0,
        "updated_at": 0.0,
    }
)
STARTED = {"step_id": "copy", "server": "lab", "tool": "copy", "attempt": 1}


def journal(*events: tuple[str, dict[str, Any]]) -> list[Recorded]:
    return [
        read(RunEvent(run_id="r1", seq=seq, type=kind, data=data, at=float(seq)))  # type: ignore[arg-type]
        for seq, (kind, data) in enumerate([("run_started", {"kind": "workflow", "reasoner": "offline"}), *events], 1)
    ]


def test_a_running_step_shows_its_latest_report() -> None:
    view = project(
        HEADER,
        journal(
            ("step_started", STARTED),
            ("step_progress", {"step_id": "copy", "progress": 1, "total": 4}),
            ("step_progress", {"step_id": "copy", "progress": 3, "total": 4, "message": "copying"}),
        ),
    )
    [step] = view.steps
    assert step.status == "running"
    assert step.progress == ToolProgress(progress=3, total=4, message="copying")


def test_a_finished_step_shows_none_and_a_new_attempt_starts_without() -> None:
    reported = ("step_progress", {"step_id": "copy", "progress": 3})
    finished = ("step_finished", {"step_id": "copy", "status": "failed", "error": "timed out"})
    [step] = project(HEADER, journal(("step_started", STARTED), reported, finished)).steps
    assert (step.status, step.progress) == ("failed", None)
    again = ("step_started", {**STARTED, "attempt": 2})
    late = ("step_progress", {"step_id": "copy", "attempt": 1, "progress": 4})
    [step] = project(HEADER, journal(("step_started", STARTED), reported, finished, again, late)).steps
    assert (step.status, step.attempt, step.progress) == ("running", 2, None), "attempt 1's report is not attempt 2's"


def test_replay_ignores_progress() -> None:
    events = journal(("step_started", STARTED), ("step_progress", {"step_id": "copy", "progress": 3}))
    replay = Replay.from_events(events)
    assert list(replay.in_flight) == [("copy", 1)]
    assert replay.outcome("copy", 1, ToolCall(id="c", server="lab", tool="copy")) is None
    assert replay.resumes_without_progress == 0
