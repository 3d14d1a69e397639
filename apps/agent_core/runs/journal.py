"""Writing to one run: events appended in order, header changes merged with conditional writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from apps.agent_core.model import RunHeader
from apps.agent_core.runs.events import JournalEvent, Recorded, read
from apps.agent_core.runs.notifier import RunNotifier
from apps.agent_core.store.base import LeaseLost, RunNotFound, RunStore, VersionConflict

_CONFLICT_RETRIES = 10


class RunJournal:
    """Writes to one run. With ``lease_owner`` (the replica executing the run) every write is fenced:
    it lands only while the run's lease is that replica's, else ``LeaseLost``. Writes made on behalf of
    a person (a cancel, an approval) come from any replica and carry no owner.
    """

    def __init__(
        self,
        store: RunStore,
        notifier: RunNotifier,
        run_id: str,
        lease_owner: str | None = None,
        known: RunHeader | None = None,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.run_id = run_id
        self.lease_owner = lease_owner
        self._known = known
        """The header as this journal last wrote it (or was given it): an update tries it first instead of
        reading the store. The write is conditional on its version, so if anyone wrote since, the store
        refuses it and the update re-reads: a stale copy costs one refused write, never a lost change."""

    async def append(self, event: JournalEvent, *, once: str | None = None) -> Recorded:
        """Journal ``event``; with ``once``, only if no event of this run holds that key (else ``AlreadyRecorded``)."""
        stored = await self.store.append_event(
            self.run_id, event.type, event.stored_data(), lease_owner=self.lease_owner, once=once
        )
        self.notifier.notify(self.run_id)
        return Recorded(seq=stored.seq, at=stored.at, event=event)

    async def history(self, after: int = 0) -> list[Recorded]:
        """Every event after ``after``, in order, typed (read in the store's pages)."""
        return await read_journal(self.store, self.run_id, after)

    async def update(self, change: Callable[[RunHeader], dict[str, Any]]) -> RunHeader:
        """Apply ``change`` (header → fields to set) with a conditional write, re-reading on conflict.

        Another replica (a cancel, an approval) may write the same header; re-reading and
        re-applying keeps both changes instead of letting the last writer win.
        """
        known, self._known = self._known, None  # taken: concurrent updates of this run read the store
        for attempt in range(_CONFLICT_RETRIES):
            header = known if known is not None else await self.store.get(self.run_id)
            if header is None:
                raise RunNotFound(self.run_id)
            if self.lease_owner is not None and header.lease_owner != self.lease_owner:
                raise LeaseLost(f"run {self.run_id} is no longer leased to {self.lease_owner}")
            fields = change(header)
            if not fields:
                return header
            try:
                stored = await self.store.update(header.model_copy(update={**fields, "updated_at": time.time()}))
            except VersionConflict:
                if known is None:  # a stale copy is retried at once; a fresh read that lost a race backs off
                    await asyncio.sleep(0.01 * (attempt + 1))
                known = None
                continue
            self._known = stored
            # Status waiters want to know when a run finishes or waits for a person: token counts, lease
            # renewals and cancel flags would only wake them to read the header again.
            self.notifier.notify(self.run_id, status=stored.status != header.status)
            if stored.status != header.status:
                self.notifier.status_written(stored)
            return stored
        raise VersionConflict(f"run {self.run_id}: header kept changing under {_CONFLICT_RETRIES} attempts")


JOURNAL_PAGE = 1000
"""Events read per store call; a shorter page is the journal's end (the store's ``events`` contract)."""


async def read_journal(store: RunStore, run_id: str, after: int = 0) -> list[Recorded]:
    """Every event of a run after ``after``, in order and typed, read in the store's pages.

    A run's journal is read on every approval poll and view, so it stops at the first short page
    rather than asking once more for an empty one: one store read for any journal under a page.
    """
    events: list[Recorded] = []
    while True:
        page = await store.events(run_id, after=events[-1].seq if events else after, limit=JOURNAL_PAGE)
        events.extend(read(stored) for stored in page)
        if len(page) < JOURNAL_PAGE:
            return events
