"""A step's progress is journaled at most once per interval, and its last report before the step's answer."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apps.agent_core.model import ToolProgress
from apps.agent_core.runs.events import StepProgress
from apps.agent_core.runs.journal import RunJournal, read_journal
from apps.agent_core.runs.notifier import RunNotifier
from apps.agent_core.runs.progress import ProgressJournal
from apps.agent_core.store.sqlite import SqliteRunStore
from tests.apps.agent_core.store.helpers import leased

pytestmark = pytest.mark.anyio
INTERVAL = 0.2


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[RunJournal]:
    store = SqliteRunStore(tmp_path / "runs.db")
    header = leased("replica-a", 60)
    await store.create(header)
    yield RunJournal(store, RunNotifier(), header.id, lease_owner="replica-a")
    await store.close()


async def journaled(journal: RunJournal) -> list[tuple[float, StepProgress]]:
    return [
        (r.at, r.event) for r in await read_journal(journal.store, journal.run_id) if isinstance(r.event, StepProgress)
    ]


def report(n: int, message: str | None = None) -> ToolProgress:
    return ToolProgress(progress=n, total=40, message=message)


async def test_a_flood_of_reports_is_journaled_at_most_once_per_interval_ending_with_the_last(
    journal: RunJournal,
) -> None:
    progress = ProgressJournal(journal, "copy", 2, interval=INTERVAL)

    async def call() -> str:
        for n in range(1, 41):  # 40 reports over about 0.8 s: four intervals
            await asyncio.sleep(0.02)
            progress.report(report(n))
        return "done"  # at once after the last report: the writer has not seen it

    assert await progress.around(call()) == "done"
    events = await journaled(journal)
    assert events[0][1] == StepProgress(step_id="copy", attempt=2, progress=1, total=40)
    assert events[-1][1].progress == 40, "the last report is journaled before the call's answer is returned"
    assert 3 <= len(events) <= 6, [e.progress for _, e in events]
    values = [event.progress for _, event in events]
    assert values == sorted(set(values)), "each report at most once, in order"
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(events[:-1])]
    assert all(gap >= INTERVAL - 0.02 for gap in gaps), f"written {gaps} s apart; the last may come sooner"


async def test_the_last_report_is_not_written_twice_and_late_reports_are_dropped(journal: RunJournal) -> None:
    progress = ProgressJournal(journal, "copy", 1, interval=INTERVAL)

    async def call() -> None:
        progress.report(report(1, "one"))
        await asyncio.sleep(INTERVAL * 2)  # written at once; nothing new since

    await progress.around(call())
    progress.report(report(2, "after the answer"))
    await asyncio.sleep(INTERVAL)
    assert [event.message for _, event in await journaled(journal)] == ["one"]


async def test_a_call_without_reports_journals_nothing(journal: RunJournal) -> None:
    progress = ProgressJournal(journal, "quiet", 1, interval=INTERVAL)
    await progress.around(asyncio.sleep(0.05))
    assert await journaled(journal) == []


async def test_a_store_that_refuses_progress_does_not_fail_the_call(
    journal: RunJournal, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(*_: object, **__: object) -> None:
        raise RuntimeError("store unavailable")

    monkeypatch.setattr(journal, "append", refuse)
    progress = ProgressJournal(journal, "copy", 1, interval=INTERVAL)

    async def call() -> str:
        progress.report(report(1))
        await asyncio.sleep(0.05)
        progress.report(report(2))
        return "answered"

    assert await progress.around(call()) == "answered"
    assert "could not journal step copy's progress" in caplog.text


async def test_a_cancelled_call_stops_the_writer(journal: RunJournal) -> None:
    progress = ProgressJournal(journal, "copy", 1, interval=INTERVAL)

    async def call() -> None:
        progress.report(report(1))
        await asyncio.sleep(10)

    task = asyncio.create_task(progress.around(call()))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("progress-")] == []
