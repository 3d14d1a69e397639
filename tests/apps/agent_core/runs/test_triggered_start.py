"""A run started by a trigger: its trigger kept in the header, the view and the journal, and its id claimed once."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from apps.agent_core.app import create_app
from apps.agent_core.auth import LOCAL_PRINCIPAL
from apps.agent_core.model import TERMINAL_STATUSES, RunTrigger
from apps.agent_core.runs.events import RunStarted
from apps.agent_core.runs.journal import read_journal
from apps.agent_core.runs.service import RunService
from apps.agent_core.settings import AgentCoreSettings
from apps.agent_core.store.base import RunExists
from apps.agent_core.triggers.ids import trigger_run_id

pytestmark = pytest.mark.anyio

TICK = RunTrigger(kind="schedule", id="s1", name="Every morning", detail={"tick": "2026-12-03T07:00:00+00:00"})


async def test_a_triggered_run_keeps_its_trigger_and_its_id_starts_once(tmp_path: Path) -> None:
    # No server answers (port 9, discard): the offline planner finds nothing to plan and the run ends at once.
    url = "lab=http://127.0.0.1:9/mcp"
    app = create_app(AgentCoreSettings(mcp_servers=url, state=f"sqlite:///{tmp_path}/runs.db", reasoner="offline"))
    service: RunService = app.state.runs
    run_id = trigger_run_id("schedule", "s1", TICK.detail["tick"])
    try:
        header = await service.start(
            principal=LOCAL_PRINCIPAL, task="What is the weather?", trigger=TICK, run_id=run_id
        )
        assert header.id == run_id and header.trigger == TICK
        with pytest.raises(RunExists):
            await service.start(principal=LOCAL_PRINCIPAL, task="What is the weather?", trigger=TICK, run_id=run_id)

        with anyio.fail_after(10):
            while (view := await service.view(run_id)) is None or view.status not in TERMINAL_STATUSES:
                await anyio.sleep(0.05)
        assert view.trigger == TICK
        started = [r.event for r in await read_journal(service.store, run_id) if isinstance(r.event, RunStarted)]
        assert [event.trigger for event in started] == [TICK], "the audit trail says what started it"
        listed = await service.list_runs(status=None, limit=10, cursor=None, trigger="schedule")
        assert [run.id for run in listed.runs] == [run_id]
        assert (await service.list_runs(status=None, limit=10, cursor=None, trigger="api")).runs == []
    finally:
        await service.shutdown(1)
        await service.store.close()


def test_trigger_run_ids_are_stable_and_tell_firings_apart() -> None:
    first = trigger_run_id("schedule", "s1", "2026-12-03T07:00:00+00:00")
    assert first == trigger_run_id("schedule", "s1", "2026-12-03T07:00:00+00:00")
    assert len(first) == 32 and int(first, 16) >= 0
    others = {
        trigger_run_id("schedule", "s1", "2026-12-04T07:00:00+00:00"),
        trigger_run_id("alert", "s1", "2026-12-03T07:00:00+00:00"),
        trigger_run_id("schedule", "s", "12026-12-03T07:00:00+00:00"),
    }
    assert first not in others and len(others) == 3
