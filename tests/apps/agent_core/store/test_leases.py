"""The lease part of the RunStore contract, on every backend: fenced appends, expired leases, takeover."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import anyio
import pytest

from apps.agent_core.store.base import LeaseLost, RunNotFound, RunStore, VersionConflict
from apps.agent_core.store.sqlite import SqliteRunStore
from tests.apps.agent_core.store.helpers import leased, make_header

pytestmark = pytest.mark.anyio


async def test_a_fenced_append_lands_only_while_the_lease_is_the_writers(store: RunStore) -> None:
    header = leased("replica-a", 60)
    await store.create(header)
    assert (await store.append_event(header.id, "run_started", {}, lease_owner="replica-a")).seq == 1
    with pytest.raises(LeaseLost):
        await store.append_event(header.id, "step_started", {}, lease_owner="replica-b")
    # An append without an owner (a person's cancel or approval) is never fenced.
    assert (await store.append_event(header.id, "cancel_requested", {"by": "x"})).seq == 2
    assert [event.seq for event in await store.events(header.id)] == [1, 2]


async def test_an_expired_lease_fences_its_owner_too(store: RunStore) -> None:
    header = leased("replica-a", -1)
    await store.create(header)
    with pytest.raises(LeaseLost):
        await store.append_event(header.id, "step_started", {}, lease_owner="replica-a")
    assert await store.events(header.id) == []
    with pytest.raises(RunNotFound):
        await store.append_event("missing", "step_started", {}, lease_owner="replica-a")


async def test_update_moves_and_clears_the_lease(store: RunStore) -> None:
    header = leased("replica-a", 60)
    await store.create(header)
    moved = await store.update(header.model_copy(update={"lease_owner": "replica-b"}))
    with pytest.raises(LeaseLost):
        await store.append_event(header.id, "step_started", {}, lease_owner="replica-a")
    await store.append_event(header.id, "step_started", {}, lease_owner="replica-b")
    cleared = await store.update(moved.model_copy(update={"lease_owner": None, "lease_expires_at": None}))
    assert cleared.lease_owner is None
    with pytest.raises(LeaseLost):
        await store.append_event(header.id, "step_finished", {}, lease_owner="replica-b")


async def test_expired_leases_lists_only_active_runs_whose_lease_ran_out(store: RunStore) -> None:
    now = time.time()
    live = leased("a", 60)
    expired = leased("a", -5)
    older = leased("b", -50)
    let_go = make_header(created_at=now).model_copy(update={"status": "awaiting_approval"})
    finished = leased("a", -5, status="succeeded")
    for header in (live, expired, older, let_go, finished):
        await store.create(header)
    # The index behind DynamoDB's answer is eventually consistent; moto's is immediate.
    found = [header.id for header in await store.expired_leases(now)]
    assert found == [let_go.id, older.id, expired.id]  # no lease first, then the longest expired
    assert len(await store.expired_leases(now, limit=1)) == 1
    with pytest.raises(ValueError, match="limit"):
        await store.expired_leases(now, limit=0)


async def test_of_replicas_taking_one_run_over_at_once_exactly_one_wins(store: RunStore, isolated_moto: None) -> None:
    """Under ``isolated_moto``: moto checks a condition and writes in separate steps, so without it two can win."""
    orphan = leased("dead", -1)
    await store.create(orphan)
    (seen,) = await store.expired_leases(time.time())
    winners: list[str] = []

    async def take(replica: str) -> None:
        try:
            await store.update(seen.model_copy(update={"lease_owner": replica, "lease_expires_at": time.time() + 30}))
            winners.append(replica)
        except VersionConflict:
            pass

    async with anyio.create_task_group() as group:
        for index in range(5):
            group.start_soon(take, f"replica-{index}")
    assert len(winners) == 1
    stored = await store.get(orphan.id)
    assert stored is not None and stored.lease_owner == winners[0]
    assert await store.expired_leases(time.time()) == []
    await store.append_event(orphan.id, "run_resumed", {}, lease_owner=winners[0])


async def test_a_version_1_sqlite_file_is_migrated_and_its_active_runs_are_found(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    header = make_header(status="running")
    with sqlite3.connect(path) as conn:  # the layout before leases, as an older release wrote it
        conn.execute(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at REAL NOT NULL,"
            " header TEXT NOT NULL, version INTEGER NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,"
            " at REAL NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID"
        )
        conn.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?)",
            (header.id, header.status, header.created_at, header.model_dump_json(), 0),
        )
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    store = SqliteRunStore(path)
    try:
        # A run left running by a release without leases has no owner: it is resumed, not stranded.
        assert [run.id for run in await store.expired_leases(time.time())] == [header.id]
    finally:
        await store.close()
