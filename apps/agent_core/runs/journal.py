"""Writing to one run: events appended in order, header changes merged with conditional writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from apps.agent_core.model import EventType, RunEvent, RunHeader
from apps.agent_core.runs.notifier import RunNotifier
from apps.agent_core.store.base import RunNotFound, RunStore, VersionConflict

_CONFLICT_RETRIES = 10


class RunJournal:
    def __init__(self, store: RunStore, notifier: RunNotifier, run_id: str) -> None:
        self.store = store
        self.notifier = notifier
        self.run_id = run_id

    async def append(self, type: EventType, data: dict[str, Any]) -> RunEvent:
        event = await self.store.append_event(self.run_id, type, data)
        self.notifier.notify(self.run_id)
        return event

    async def update(self, change: Callable[[RunHeader], dict[str, Any]]) -> RunHeader:
        """Apply ``change`` (header → fields to set) with a conditional write, re-reading on conflict.

        Another replica (a cancel, an approval) may write the same header; re-reading and
        re-applying keeps both changes instead of letting the last writer win.
        """
        for attempt in range(_CONFLICT_RETRIES):
            header = await self.store.get(self.run_id)
            if header is None:
                raise RunNotFound(self.run_id)
            fields = change(header)
            if not fields:
                return header
            try:
                stored = await self.store.update(header.model_copy(update={**fields, "updated_at": time.time()}))
            except VersionConflict:
                await asyncio.sleep(0.01 * (attempt + 1))
                continue
            self.notifier.notify(self.run_id)
            return stored
        raise VersionConflict(f"run {self.run_id}: header kept changing under {_CONFLICT_RETRIES} attempts")
