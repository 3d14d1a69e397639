"""The lease heartbeat tells a lost lease from a run that ended while it looked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from apps.agent_core.model import RunHeader
from apps.agent_core.runs.journal import RunJournal
from apps.agent_core.runs.lease import LeaseTerms, RunControl
from apps.agent_core.runs.notifier import RunNotifier
from apps.agent_core.store.base import RunStore
from tests.apps.agent_core.store.helpers import leased

pytestmark = pytest.mark.anyio
TERMS = LeaseTerms(owner="replica-a", seconds=3, poll_seconds=0.01)


async def _leased_run(store: RunStore) -> tuple[RunHeader, RunControl]:
    header = leased(TERMS.owner, TERMS.seconds)
    await store.create(header)
    control = RunControl(RunJournal(store, RunNotifier(), header.id, lease_owner=TERMS.owner), TERMS)
    return header, control


async def _run_under_heartbeat(control: RunControl) -> None:
    async def run() -> None:
        async with control.heartbeat():
            await asyncio.sleep(0.2)  # a few beats after whatever the test changed

    control.task = asyncio.create_task(run())
    with contextlib.suppress(asyncio.CancelledError):
        await control.task


async def test_a_run_that_ended_under_its_heartbeat_is_not_a_lost_lease(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    _, control = await _leased_run(store)
    # The run's own last write: its end, releasing the lease (what RunExecution._write_end does).
    await control.journal.update(lambda _: {"status": "succeeded", "finished_at": time.time(), "lease_owner": None})
    with caplog.at_level(logging.WARNING, logger="apps.agent_core.runs.lease"):
        await _run_under_heartbeat(control)
    assert control.reason is None and control.task is not None and not control.task.cancelled()
    assert "lost the lease" not in caplog.text


async def test_a_lease_taken_by_another_replica_interrupts_the_run_at_once(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    header, control = await _leased_run(store)
    current = await store.get(header.id)
    assert current is not None
    await store.update(current.model_copy(update={"lease_owner": "replica-b"}))
    with caplog.at_level(logging.WARNING, logger="apps.agent_core.runs.lease"):
        await _run_under_heartbeat(control)
    assert control.reason == "lease_lost" and control.task is not None and control.task.cancelled()
    assert "lost the lease" in caplog.text


async def test_the_heartbeat_renews_a_lease_a_third_used(store: RunStore) -> None:
    header, control = await _leased_run(store)
    current = await store.get(header.id)
    assert current is not None
    await store.update(current.model_copy(update={"lease_expires_at": time.time() + 1.0}))
    await _run_under_heartbeat(control)
    renewed = await store.get(header.id)
    assert renewed is not None and renewed.lease_expires_at is not None
    assert renewed.lease_expires_at > time.time() + 2.0 and control.reason is None
