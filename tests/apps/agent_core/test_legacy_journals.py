"""Journals written by earlier code still load, replay and show the same run.

``tests/fixtures/journals/d2200bf`` holds real runs written by commit d2200bf (before the journal's events
were typed): every event kind of that time, from offline and model-backed tasks, workflows with
approvals approved, rejected and expired, cancels, takeovers and hand-offs. ``expected_views.json`` is
what that code's projection showed for each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.agent_core.model import RunEvent, RunHeader
from apps.agent_core.projection import project
from apps.agent_core.runs.events import Recorded, read
from apps.agent_core.runs.replay import Replay

JOURNALS = Path(__file__).parents[2] / "fixtures" / "journals" / "d2200bf"
EXPECTED: dict[str, dict[str, Any]] = json.loads((JOURNALS / "expected_views.json").read_text())
TIMES = ("started_at", "finished_at", "duration_ms")
"""Taken from the journal's own ``run_started`` and ``run_finished`` now, not the header: a few ms apart."""


def load(name: str) -> tuple[RunHeader, list[Recorded]]:
    stored = json.loads((JOURNALS / name).read_text())
    return RunHeader.model_validate(stored["header"]), [read(RunEvent.model_validate(e)) for e in stored["events"]]


def test_the_fixtures_hold_every_kind_of_that_time() -> None:
    kinds = {read(RunEvent.model_validate(e)).event.type for name in EXPECTED for e in _raw(name)["events"]}
    assert kinds == {
        "run_started",
        "model_turn",
        "step_started",
        "step_finished",
        "approval_requested",
        "approval_decided",
        "run_finished",
        "cancel_requested",
        "run_resumed",
        "run_handed_off",
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_old_journal_shows_the_run_it_showed_then(name: str) -> None:
    header, journal = load(name)
    view = project(header, journal).model_dump(mode="json")
    expected = EXPECTED[name]
    for field in TIMES:
        if expected[field] is None:
            assert view[field] is None
        else:
            assert view[field] == pytest.approx(expected[field], abs=50 if field == "duration_ms" else 0.05)
    # Runs of that time were all started through the API.
    assert view.pop("trigger") == {"kind": "api", "id": None, "name": None, "detail": {}, "notify": []}
    assert view.pop("trigger_resolved_at") is None  # nor did an alert start any
    for step in view["steps"]:
        assert step.pop("recovered_by") is None  # old journals never recorded which fallback stood in
        assert step.pop("progress") is None  # nor progress: no tool reported any then
        assert step.pop("retryable") is None  # nor whether a failure might pass when retried
    assert {k: v for k, v in view.items() if k not in TIMES} == {k: v for k, v in expected.items() if k not in TIMES}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_old_journal_replays(name: str) -> None:
    header, journal = load(name)
    replay = Replay.from_events(journal)
    finished = [r.event for r in journal if r.event.type == "run_finished"]
    assert replay.finished == (finished[0] if finished else None)
    assert (replay.finished.status if replay.finished else None) == (header.status if finished else None)
    assert len(replay.turns) == sum(r.event.type == "model_turn" for r in journal)


def _raw(name: str) -> dict[str, Any]:
    return json.loads((JOURNALS / name).read_text())  # type: ignore[no-any-return]
