"""A journal damaged in the store is reported as such, naming the run, the event and the field, never as a bare 500."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from apps.agent_core.model import RunHeader
from apps.agent_core.store.sqlite import SqliteRunStore
from tests.apps.agent_core.store.helpers import leased
from tests.support.agent_core import run_agent_core
from tests.support.lab_server import run_lab_server


def test_a_damaged_event_is_named_in_the_error(tmp_path: Path) -> None:
    async def write_damaged_run() -> str:
        store = SqliteRunStore(tmp_path / "runs.db")
        header = leased("gone-replica", 3600)
        await store.create(header)
        await store.append_event(header.id, "step_finished", {"step_id": "s1", "status": "half-done"})
        await store.close()
        return header.id

    run_id = asyncio.run(write_damaged_run())
    with run_lab_server() as (lab, _), run_agent_core({"lab": lab}, tmp_path) as core:
        response = core.http.get(f"/api/runs/{run_id}")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "damaged_journal"
    assert f"event 1 (step_finished) of run {run_id} is damaged: status" in body["message"]


def test_a_run_that_cannot_be_resumed_ends_failed_saying_why_instead_of_being_retried(tmp_path: Path) -> None:
    """Its replica died (lease expired) and its journal cannot be replayed: the run ends once, with the reason."""

    async def write_orphan() -> str:
        store = SqliteRunStore(tmp_path / "runs.db")
        header = leased("dead-replica", -1)
        await store.create(header)
        await store.append_event(header.id, "step_started", {"step_id": "s1"}, lease_owner=None)
        await store.close()
        return header.id

    run_id = asyncio.run(write_orphan())
    with run_lab_server() as (lab, _), run_agent_core({"lab": lab}, tmp_path) as core:
        deadline = time.monotonic() + 20
        while True:
            [run] = core.http.get("/api/runs").json()["runs"]
            if run["status"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        header = asyncio.run(_header(tmp_path, run_id))
    assert run["id"] == run_id and run["status"] == "failed"
    assert header.error is not None and "could not be resumed" in header.error
    assert f"event 1 (step_started) of run {run_id} is damaged" in header.error


async def _header(tmp_path: Path, run_id: str) -> RunHeader:
    store = SqliteRunStore(tmp_path / "runs.db")
    try:
        header = await store.get(run_id)
    finally:
        await store.close()
    assert header is not None
    return header
