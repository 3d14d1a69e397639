"""The scheduler's decisions, pass by pass, with a clock the test moves: which tick runs, once, and which not.

Two ``Scheduler``s on one store stand for two replicas. The runs side is a stand-in that keeps what the run
store's conditional create guarantees (a run id is created once, ``RunExists`` after) and records each start.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from apps.agent_core.auth import Principal
from apps.agent_core.model import RunHeader, RunTrigger
from apps.agent_core.runs.errors import RunRequestError
from apps.agent_core.runs.service import RunService
from apps.agent_core.store.base import RunExists, StoreError
from apps.agent_core.store.sqlite import SqliteRunStore
from apps.agent_core.triggers.ids import trigger_run_id
from apps.agent_core.triggers.schedule_store_sqlite import SqliteScheduleStore
from apps.agent_core.triggers.scheduler import MISSED_AFTER_SECONDS, Scheduler
from apps.agent_core.triggers.schedules import ScheduleRecord, ScheduleRequest

pytestmark = pytest.mark.anyio

T0 = 1_800_000_000.0  # a multiple of 5 s and of an hour


@dataclass
class Runs:
    """What the scheduler needs of ``RunService``; ``fail_with`` makes the next starts raise."""

    started: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_with: Exception | None = None
    draining: bool = False

    async def start(self, *, principal: Principal, trigger: RunTrigger, run_id: str, **target: Any) -> RunHeader:
        if self.fail_with is not None:
            raise self.fail_with
        if run_id in self.started:
            raise RunExists(run_id)
        self.started[run_id] = {"owner": principal.name, "trigger": trigger, **target}
        return cast(RunHeader, None)

    async def header(self, run_id: str) -> RunHeader | None:
        return None

    def ticks(self) -> list[str]:
        return sorted(start["trigger"].detail["tick"] for start in self.started.values())


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteScheduleStore]:
    await SqliteRunStore(tmp_path / "runs.db").close()  # creates and migrates the file
    yield SqliteScheduleStore(tmp_path / "runs.db")


def replica(store: SqliteScheduleStore, runs: Runs, clock: Clock) -> Scheduler:
    return Scheduler(schedules=store, runs=cast(RunService, runs), clock=clock)


async def add(store: SqliteScheduleStore, created_at: float, **fields: Any) -> ScheduleRecord:
    spec = ScheduleRequest.model_validate({"name": "s", "task": "report", **fields})
    made = ScheduleRecord(
        id=uuid.uuid4().hex, spec=spec, created_by="ops", created_at=created_at, updated_at=created_at, since=created_at
    )
    await store.create(made)
    return made


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


async def test_two_replicas_start_every_tick_once_and_skip_none(store: SqliteScheduleStore) -> None:
    runs, clock = Runs(), Clock(T0 + 0.3)
    schedule = await add(store, T0 + 0.3, every="@every 5s")
    a, b = replica(store, runs, clock), replica(store, runs, clock)
    while clock.now < T0 + 60:  # each replica passes about once a second, in turn, out of step
        await a.run_pass()
        clock.now += 0.4
        await b.run_pass()
        clock.now += 0.7
    assert runs.ticks() == [iso(T0 + n * 5) for n in range(1, 13)]
    assert set(runs.started) == {trigger_run_id("schedule", schedule.id, iso(T0 + n * 5)) for n in range(1, 13)}
    start = runs.started[trigger_run_id("schedule", schedule.id, iso(T0 + 5))]
    assert start == {
        "owner": "ops",
        "trigger": RunTrigger(kind="schedule", id=schedule.id, name="s", detail={"tick": iso(T0 + 5)}),
        "task": "report",
    }


async def test_a_tick_a_dead_replica_chose_is_still_started_once(store: SqliteScheduleStore) -> None:
    runs, clock = Runs(), Clock(T0 + 5.2)
    schedule = await add(store, T0, every="@every 5s")
    # Replica a created the tick's run and died before recording it: b finds the run and records the tick.
    await runs.start(
        principal=Principal("ops", frozenset()),
        trigger=RunTrigger(kind="schedule", detail={"tick": iso(T0 + 5)}),
        run_id=trigger_run_id("schedule", schedule.id, iso(T0 + 5)),
        task="report",
    )
    b = replica(store, runs, clock)
    assert await b.run_pass() == []
    recorded = await store.get(schedule.id)
    assert recorded is not None and recorded.cursor == T0 + 5 and recorded.last_run is not None
    # Replica a chose the next tick and died before creating it: the id is free, so b creates it.
    clock.now = T0 + 10.4
    assert await b.run_pass() == [trigger_run_id("schedule", schedule.id, iso(T0 + 10))]
    assert runs.ticks() == [iso(T0 + 5), iso(T0 + 10)]


@pytest.mark.parametrize("catch_up", ["latest", "skip"])
async def test_after_an_outage_only_the_latest_missed_tick_runs_and_skip_runs_none(
    store: SqliteScheduleStore, catch_up: str
) -> None:
    runs, clock = Runs(), Clock(T0 + 5 * 3600 + 600)  # no replica ran for five hours
    await add(store, T0 - 1, cron="0 * * * *", catch_up=catch_up)
    scheduler = replica(store, runs, clock)
    await scheduler.run_pass()
    await scheduler.run_pass()
    assert runs.ticks() == ([iso(T0 + 5 * 3600)] if catch_up == "latest" else [])
    clock.now = T0 + 6 * 3600 + 1  # on time again: both run it
    await scheduler.run_pass()
    assert runs.ticks()[-1:] == [iso(T0 + 6 * 3600)]


async def test_skip_still_runs_a_tick_that_is_only_a_little_late(store: SqliteScheduleStore) -> None:
    runs, clock = Runs(), Clock(T0 + 3600 + MISSED_AFTER_SECONDS - 1)
    await add(store, T0 - 1, cron="0 * * * *", catch_up="skip")
    await replica(store, runs, clock).run_pass()
    assert runs.ticks() == [iso(T0 + 3600)]


async def test_nothing_runs_before_its_first_tick_or_while_paused(store: SqliteScheduleStore) -> None:
    runs, clock = Runs(), Clock(T0 + 4.9)
    await add(store, T0 + 0.5, every="@every 5s")  # T0 itself came before the schedule
    await add(store, T0 - 100, every="@every 5s", enabled=False)
    scheduler = replica(store, runs, clock)
    assert await scheduler.run_pass() == []
    clock.now = T0 + 5
    assert len(await scheduler.run_pass()) == 1 and runs.ticks() == [iso(T0 + 5)]


async def test_a_tick_that_cannot_start_is_recorded_with_why_and_not_retried(store: SqliteScheduleStore) -> None:
    runs, clock = Runs(fail_with=RunRequestError(["unknown tool lab.gone"])), Clock(T0 + 5.5)
    schedule = await add(store, T0, every="@every 5s")
    scheduler = replica(store, runs, clock)
    await scheduler.run_pass()
    recorded = await store.get(schedule.id)
    assert recorded is not None and recorded.cursor == T0 + 5 and recorded.last_run is None
    assert recorded.last_error == f"the tick at {iso(T0 + 5)} started no run: unknown tool lab.gone"
    view = await scheduler.view(recorded)
    assert view.last_error == recorded.last_error and view.next_tick == iso(T0 + 10)


async def test_a_store_failure_leaves_the_tick_to_the_next_pass(store: SqliteScheduleStore) -> None:
    runs, clock = Runs(fail_with=StoreError("the run store is busy")), Clock(T0 + 5.5)
    schedule = await add(store, T0, every="@every 5s")
    scheduler = replica(store, runs, clock)
    await scheduler.run_pass()
    recorded = await store.get(schedule.id)
    assert recorded is not None and recorded.cursor is None
    runs.fail_with = None
    clock.now = T0 + 6.5
    assert await scheduler.run_pass() == [trigger_run_id("schedule", schedule.id, iso(T0 + 5))]


async def test_a_template_target_runs_the_templates_workflow_with_the_inputs(store: SqliteScheduleStore) -> None:
    runs, clock = Runs(), Clock(T0 + 60)
    await add(store, T0, every="@every 1m", template="weather_to_store", inputs={"location": "Oslo"}, task=None)
    await replica(store, runs, clock).run_pass()
    [start] = runs.started.values()
    assert start["workflow"]["name"] == "weather_to_store" and start["inputs"] == {"location": "Oslo"}
