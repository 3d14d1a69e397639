"""The schedule store's contract (``triggers/schedule_store.py``) on SQLite and on DynamoDB (moto's server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import boto3
import pytest

from apps.agent_core.model import RunHeader
from apps.agent_core.store.base import RunStore, VersionConflict
from apps.agent_core.store.dynamodb import DynamoDBRunStore, create_table
from apps.agent_core.store.sqlite import SqliteRunStore
from apps.agent_core.triggers.schedule_store import ScheduleExists, ScheduleNotFound, ScheduleStore
from apps.agent_core.triggers.schedule_store_dynamodb import DynamoDBScheduleStore
from apps.agent_core.triggers.schedule_store_sqlite import SqliteScheduleStore
from apps.agent_core.triggers.schedules import ScheduleRecord, ScheduleRequest, TickRef

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "dynamodb"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[ScheduleStore, RunStore]]:
    if request.param == "sqlite":
        runs: RunStore = SqliteRunStore(tmp_path / "runs.db")  # opened first: it migrates the file
        schedules: ScheduleStore = SqliteScheduleStore(tmp_path / "runs.db")
    else:
        request.getfixturevalue("aws_env")
        client = boto3.client("dynamodb")
        table = f"schedules-{uuid.uuid4().hex[:12]}"
        create_table(client, table)
        runs, schedules = DynamoDBRunStore(table, client), DynamoDBScheduleStore(table, client)
    yield schedules, runs
    await schedules.close()
    await runs.close()


def record(name: str, created_at: float) -> ScheduleRecord:
    spec = ScheduleRequest.model_validate({"name": name, "every": "@every 1m", "task": f"{name} task"})
    return ScheduleRecord(
        id=uuid.uuid4().hex, spec=spec, created_by="ops", created_at=created_at, updated_at=created_at, since=created_at
    )


async def test_schedules_round_trip_and_list_oldest_first(stores: tuple[ScheduleStore, RunStore]) -> None:
    schedules, _ = stores
    later, earlier = record("later", 2000.0), record("earlier", 1000.0)
    await schedules.create(later)
    await schedules.create(earlier)
    assert await schedules.get(later.id) == later
    assert await schedules.get("missing") is None
    assert [found.id for found in await schedules.list()] == [earlier.id, later.id]
    with pytest.raises(ScheduleExists):
        await schedules.create(later)


async def test_updates_are_conditional_on_the_version_read(stores: tuple[ScheduleStore, RunStore]) -> None:
    schedules, _ = stores
    original = record("nightly", 1000.0)
    await schedules.create(original)
    moved = await schedules.update(original.model_copy(update={"cursor": 1060.0}))
    assert moved.version == 1 and await schedules.get(original.id) == moved
    with pytest.raises(VersionConflict):  # a replica that read version 0 does not overwrite the tick recorded
        await schedules.update(original.model_copy(update={"last_run": TickRef(run_id="r", tick="t")}))
    # Of concurrent writers on one version, exactly one wins.
    attempts = [moved.model_copy(update={"cursor": 1060.0 + n}) for n in range(1, 6)]
    outcomes = await asyncio.gather(*(schedules.update(a) for a in attempts), return_exceptions=True)
    assert sum(not isinstance(outcome, Exception) for outcome in outcomes) == 1
    assert all(isinstance(o, VersionConflict) for o in outcomes if isinstance(o, Exception))
    assert await schedules.delete(original.id) is True
    assert await schedules.delete(original.id) is False
    with pytest.raises(ScheduleNotFound):
        await schedules.update(moved)


async def test_schedules_never_appear_among_runs(stores: tuple[ScheduleStore, RunStore]) -> None:
    schedules, runs = stores
    await schedules.create(record("nightly", 1000.0))
    header = RunHeader(
        id="run-1",
        kind="task",
        status="queued",
        owner="ops",
        title="t",
        request={"task": "t"},
        reasoner="offline",
        created_at=1.0,
        updated_at=1.0,
    )
    await runs.create(header)
    assert [run.id for run in (await runs.list()).runs] == ["run-1"]
    assert [run.id for run in (await runs.list(status="queued")).runs] == ["run-1"]
    assert await runs.expired_leases(10.0) == [await runs.get("run-1")]
