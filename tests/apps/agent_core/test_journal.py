"""Header updates from the run's own journal: no read when its copy is current, no change lost when it is not."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apps.agent_core.model import RunHeader, TokenUsage
from apps.agent_core.runs.journal import RunJournal
from apps.agent_core.runs.notifier import RunNotifier
from apps.agent_core.store.base import LeaseLost
from apps.agent_core.store.sqlite import SqliteRunStore
from tests.apps.agent_core.store.helpers import make_header

pytestmark = pytest.mark.anyio
OWNER = "replica-a"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class CountingStore(SqliteRunStore):
    reads = 0

    async def get(self, run_id: str) -> RunHeader | None:
        self.reads += 1
        return await super().get(run_id)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CountingStore]:
    store = CountingStore(tmp_path / "runs.db")
    yield store
    await store.close()


async def _run(store: CountingStore, notifier: RunNotifier) -> tuple[RunHeader, RunJournal]:
    header = make_header(created_at=time.time()).model_copy(
        update={"lease_owner": OWNER, "lease_expires_at": time.time() + 60}
    )
    await store.create(header)
    return header, RunJournal(store, notifier, header.id, lease_owner=OWNER, known=header)


def _add_tokens(header: RunHeader) -> dict[str, object]:
    return {"usage": header.usage.plus(TokenUsage(input_tokens=10, output_tokens=2))}


async def test_updates_from_a_current_copy_read_nothing(store: CountingStore) -> None:
    _, journal = await _run(store, RunNotifier())
    await journal.update(lambda _: {"status": "running"})
    await journal.update(_add_tokens)
    await journal.update(_add_tokens)
    assert store.reads == 0
    stored = await store.get(journal.run_id)
    assert stored is not None and stored.status == "running" and stored.usage.input_tokens == 20


async def test_a_stale_copy_loses_no_change_made_elsewhere(store: CountingStore) -> None:
    header, journal = await _run(store, RunNotifier())
    # A person's cancel, written by another replica's journal after this one last wrote.
    await RunJournal(store, RunNotifier(), header.id).update(lambda _: {"cancel_requested": True})
    await journal.update(_add_tokens)
    stored = await store.get(header.id)
    assert stored is not None and stored.cancel_requested and stored.usage.input_tokens == 10


async def test_a_stale_copy_does_not_hide_a_lost_lease(store: CountingStore) -> None:
    header, journal = await _run(store, RunNotifier())
    await store.update(header.model_copy(update={"lease_owner": "replica-b"}))
    with pytest.raises(LeaseLost):
        await journal.update(_add_tokens)
    stored = await store.get(header.id)
    assert stored is not None and stored.usage.input_tokens == 0


async def test_status_waiters_wake_on_status_changes_only(store: CountingStore) -> None:
    notifier = RunNotifier()
    header, journal = await _run(store, notifier)
    status, any_change = notifier.signal(header.id, status=True), notifier.signal(header.id)
    await journal.update(_add_tokens)
    assert any_change.is_set() and not status.is_set()
    await journal.update(lambda _: {"status": "running"})
    assert status.is_set()
