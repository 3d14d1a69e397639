"""Header updates from the run's own journal: no read when its copy is current, no change lost when it is not."""

from __future__ import annotations

import pytest

from apps.agent_core.model import RunEvent, RunHeader, TokenUsage
from apps.agent_core.runs import journal as journal_module
from apps.agent_core.runs.events import ModelTurnRecorded, RunStarted
from apps.agent_core.runs.journal import RunJournal, read_journal
from apps.agent_core.runs.notifier import RunNotifier
from apps.agent_core.store.base import LeaseLost, RunStore
from tests.apps.agent_core.store.helpers import leased

pytestmark = pytest.mark.anyio
OWNER = "replica-a"


@pytest.fixture
def reads(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every header read the store serves from here on."""
    seen: list[str] = []
    read = store.get

    async def counted(run_id: str) -> RunHeader | None:
        seen.append(run_id)
        return await read(run_id)

    monkeypatch.setattr(store, "get", counted)
    return seen


async def _run(store: RunStore, notifier: RunNotifier) -> tuple[RunHeader, RunJournal]:
    header = leased(OWNER, 60)
    await store.create(header)
    return header, RunJournal(store, notifier, header.id, lease_owner=OWNER, known=header)


def _add_tokens(header: RunHeader) -> dict[str, object]:
    return {"usage": header.usage.plus(TokenUsage(input_tokens=10, output_tokens=2))}


async def test_updates_from_a_current_copy_read_nothing(store: RunStore, reads: list[str]) -> None:
    _, journal = await _run(store, RunNotifier())
    # Appends move the event counter, not the header's version: the copy stays current across them.
    await journal.append(RunStarted(kind="task", reasoner="offline"))
    await journal.update(lambda _: {"status": "running"})
    await journal.update(_add_tokens)
    await journal.append(ModelTurnRecorded(index=1, stop_reason="end_turn"))
    await journal.update(_add_tokens)
    assert reads == []
    stored = await store.get(journal.run_id)
    assert stored is not None and stored.status == "running" and stored.usage.input_tokens == 20


async def test_a_stale_copy_loses_no_change_made_elsewhere(store: RunStore) -> None:
    header, journal = await _run(store, RunNotifier())
    # A person's cancel, written by another replica's journal after this one last wrote.
    await RunJournal(store, RunNotifier(), header.id).update(lambda _: {"cancel_requested": True})
    await journal.update(_add_tokens)
    stored = await store.get(header.id)
    assert stored is not None and stored.cancel_requested and stored.usage.input_tokens == 10


async def test_a_stale_copy_does_not_hide_a_lost_lease(store: RunStore) -> None:
    header, journal = await _run(store, RunNotifier())
    await store.update(header.model_copy(update={"lease_owner": "replica-b"}))
    with pytest.raises(LeaseLost):
        await journal.update(_add_tokens)
    stored = await store.get(header.id)
    assert stored is not None and stored.usage.input_tokens == 0


async def test_status_waiters_wake_on_status_changes_only(store: RunStore) -> None:
    notifier = RunNotifier()
    header, journal = await _run(store, notifier)
    status, any_change = notifier.signal(header.id, status=True), notifier.signal(header.id)
    await journal.update(_add_tokens)
    assert any_change.is_set() and not status.is_set()
    await journal.update(lambda _: {"status": "succeeded"})
    assert status.is_set()


async def test_a_journal_is_read_to_its_end_with_no_read_past_a_short_page(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Approval polls read the journal every few hundred ms: one store read each while it fits a page."""
    header, journal = await _run(store, RunNotifier())
    await journal.append(RunStarted(kind="task", reasoner="offline"))
    for index in range(1, 7):
        await journal.append(ModelTurnRecorded(index=index, stop_reason="end_turn"))
    pages: list[int] = []
    events = store.events

    async def counted(run_id: str, *, after: int = 0, limit: int = 1000) -> list[RunEvent]:
        page = await events(run_id, after=after, limit=limit)
        pages.append(len(page))
        return page

    monkeypatch.setattr(store, "events", counted)
    assert [event.seq for event in await read_journal(store, header.id)] == list(range(1, 8))
    assert pages == [7]

    pages.clear()
    monkeypatch.setattr(journal_module, "JOURNAL_PAGE", 3)
    assert [event.seq for event in await read_journal(store, header.id, after=1)] == list(range(2, 8))
    assert pages == [3, 3, 0]
