"""Journaling a running step's progress without flooding the journal.

A tool may report progress many times a second, and every journaled event is a store write (and an
SSE message to every watcher). ``ProgressJournal`` keeps only the latest report and writes it at most
once per ``interval`` per step; when the call returns it writes the last report once more if it changed
since, so the journal's last word on a step's progress comes before its ``step_finished``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from apps.agent_core.model import ToolProgress
from apps.agent_core.runs.events import StepProgress
from apps.agent_core.runs.journal import RunJournal

log = logging.getLogger(__name__)
T = TypeVar("T")

PROGRESS_INTERVAL_SECONDS = 1.0
"""The most often one step's progress is journaled."""


class ProgressJournal:
    """The progress of one attempt of one step: ``report`` is the gateway's ``on_progress``."""

    def __init__(
        self, journal: RunJournal, step_id: str, attempt: int, *, interval: float = PROGRESS_INTERVAL_SECONDS
    ) -> None:
        self._journal = journal
        self._step_id = step_id
        self._attempt = attempt
        self._interval = interval
        self._latest: ToolProgress | None = None
        self._journaled: ToolProgress | None = None
        self._changed = asyncio.Event()
        self._open = False
        self._failed = False

    def report(self, progress: ToolProgress) -> None:
        """Keep the newest report; the writer journals it when its interval allows. Never blocks."""
        if self._open:
            self._latest = progress
            self._changed.set()

    async def around(self, call: Awaitable[T]) -> T:
        """Await ``call`` while journaling the reports it brings; the last one is journaled before returning."""
        self._open = True
        writer = asyncio.create_task(self._write_while_running(), name=f"progress-{self._step_id}")
        try:
            result = await call
        finally:
            self._open = False  # reports that come after the answer describe nothing that still runs
            writer.cancel()
            # asyncio.wait, not await: it neither raises the writer's cancellation nor swallows our own.
            await asyncio.wait([writer])
        if not self._failed:
            await self._write(self._latest)
        return result

    async def _write_while_running(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self._write(self._latest)
            except Exception:
                # Progress is a courtesy: a store that refuses it must not end a call that is running fine.
                # The step's own outcome is written (or refused) by the step, with its own error.
                log.warning(
                    "run %s: could not journal step %s's progress",
                    self._journal.run_id,
                    self._step_id,
                    exc_info=True,
                )
                self._failed = True
                return
            await asyncio.sleep(self._interval)

    async def _write(self, progress: ToolProgress | None) -> None:
        if progress is None or progress == self._journaled:
            return
        # Noted as journaled before the write: if the write is cancelled half-way it may have landed, and
        # writing the same report twice would be worse than missing one.
        self._journaled = progress
        await self._journal.append(StepProgress(step_id=self._step_id, attempt=self._attempt, **progress.model_dump()))
