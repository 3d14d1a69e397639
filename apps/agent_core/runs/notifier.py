"""In-process wake-ups: "run X has something new", so waiters need not poll the store hot.

Waiters still poll the store on a slow timer, because a change made by another replica (an
approval, a cancel) never passes through this process's notifier.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable

from apps.agent_core.model import RunHeader

StatusListener = Callable[[RunHeader], None]
"""Told of each header whose status this replica writes; called in the writer, so it must return at once."""

log = logging.getLogger(__name__)


class RunNotifier:
    """Two channels per run: every change (events and header, for streams) and status changes only (for
    waiters that need nothing else: a run's steps, token counts and lease renewals then cost them no reads)."""

    def __init__(self) -> None:
        self._signals: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._status_signals: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._listeners: list[StatusListener] = []

    def notify(self, run_id: str, *, status: bool = False) -> None:
        # Wake everyone waiting on the current signal and give later waiters a fresh one.
        self._signals.pop(run_id, asyncio.Event()).set()
        if status:
            self._status_signals.pop(run_id, asyncio.Event()).set()

    def listen(self, listener: StatusListener) -> None:
        """Tell ``listener`` of every status this replica writes (notification sinks use it: no polling)."""
        self._listeners.append(listener)

    def status_written(self, header: RunHeader) -> None:
        for listener in self._listeners:
            try:
                listener(header)
            except Exception:  # a listener's fault must never fail the run that wrote the status
                log.exception("a run status listener failed", extra={"run_id": header.id})

    def signal(self, run_id: str, *, status: bool = False) -> asyncio.Event:
        """The event the next notification of ``run_id`` (or of its status, ``status``) sets. Take it *before*
        reading the store, then wait on it: a change between the read and the wait is then not missed."""
        return (self._status_signals if status else self._signals)[run_id]

    async def wait(self, run_id: str, timeout: float, signal: asyncio.Event | None = None) -> bool:
        """Wait for the next notification of ``run_id`` (or ``signal``), at most ``timeout`` seconds."""
        signal = signal or self._signals[run_id]
        try:
            await asyncio.wait_for(signal.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def forget(self, run_id: str) -> None:
        self._signals.pop(run_id, None)
        self._status_signals.pop(run_id, None)
