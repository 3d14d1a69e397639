"""Who runs a run: a lease in the store, kept alive by a heartbeat, and the reasons a run stops early.

Every active run names one replica in ``lease_owner`` until ``lease_expires_at``. The replica that
starts a run creates it with its lease; while the run executes, a heartbeat re-reads the header every
``poll_seconds`` and renews the lease once a third of it is used. When a replica dies, its leases run
out and another replica takes the run over (``RunService.recover``) with a conditional write, then
resumes it from the journal (``replay.py``).

Writes a run makes while it executes are fenced: its journal appends only while the store still says
the lease is this replica's and unexpired (``RunStore.append_event(lease_owner=…)``), and header
changes check the owner inside the same conditional write. A replica that stalled past its lease
finds out at its next write, stops, and writes nothing more.

The heartbeat also carries stops decided elsewhere: a cancel requested on any replica, or the lease
taken by another replica, interrupts the run's task at once (a tool call in flight included). A stop
requested here (the replica shutting down) waits for the next step boundary instead, so the tool
call in flight finishes and its outcome is journaled before the run is let go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from apps.agent_core.runs.journal import RunJournal
from apps.agent_core.store.base import LeaseLost, StoreError, VersionConflict

__all__ = ["Interruption", "LeaseTerms", "RunCancelled", "RunControl"]

log = logging.getLogger(__name__)

Interruption = Literal["cancel", "handoff", "lease_lost"]
# When several apply, the strongest wins: a lost lease forbids any write; a cancel ends the run here
# rather than passing it on to another replica.
_STRENGTH: dict[Interruption, int] = {"handoff": 1, "cancel": 2, "lease_lost": 3}


class RunCancelled(asyncio.CancelledError):
    """The run must stop at this step boundary; ``RunControl.reason`` says why.

    A ``CancelledError`` so that it travels like a task's cancellation: no ``except Exception`` on the way
    (the workflow engine's step handling, a reasoner's loop) mistakes it for a failed step.
    """


@dataclass(frozen=True)
class LeaseTerms:
    owner: str
    """This replica's id (``AGENTIC_REPLICA_ID``, by default host name and process id)."""
    seconds: float
    """How long a lease lasts without renewal: how long a dead replica's runs wait to be resumed."""
    poll_seconds: float = 1.0
    """How often the heartbeat reads the header (cancels from other replicas arrive this way)."""

    def granted(self, now: float) -> dict[str, Any]:
        return {"lease_owner": self.owner, "lease_expires_at": now + self.seconds}


class RunControl:
    """One run's lease and the reason, if any, it must stop before it finishes."""

    def __init__(self, journal: RunJournal, terms: LeaseTerms) -> None:
        self.journal = journal
        self.terms = terms
        self.reason: Interruption | None = None
        self.task: asyncio.Task[None] | None = None
        """The task executing the run; set by whoever starts it."""

    def interrupt(self, reason: Interruption, *, now: bool = False) -> None:
        """Stop the run for ``reason``: at its next step boundary, or at once (``now``)."""
        if self.reason is None or _STRENGTH[reason] > _STRENGTH[self.reason]:
            self.reason = reason
        if now and self.task is not None and not self.task.done():
            self.task.cancel()

    async def checkpoint(self) -> None:
        """At a step boundary: raise ``RunCancelled`` if the run must stop here.

        No store read: the heartbeat brings stops decided on other replicas within ``poll_seconds`` (and
        interrupts the run itself), a cancel made on this replica arrives at once, and fencing refuses
        any write after the lease is lost. A step therefore costs its two journal writes and nothing more.
        """
        if self.reason is not None:
            raise RunCancelled

    @contextlib.asynccontextmanager
    async def heartbeat(self) -> AsyncIterator[None]:
        """Keep the lease (and watch for stops) while the body runs."""
        beat = asyncio.create_task(self._beat(), name=f"lease-{self.journal.run_id}")
        try:
            yield
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.terms.poll_seconds)
            try:
                if not await self._renew_if_due():
                    return
            except (LeaseLost, VersionConflict):
                log.warning("lost the lease of a run", extra={"run_id": self.journal.run_id})
                self.interrupt("lease_lost", now=True)
                return
            except StoreError as exc:
                # The store may be back before the lease runs out; fencing stops us writing if it is not.
                log.warning("could not renew a run's lease: %s", exc, extra={"run_id": self.journal.run_id})

    async def _renew_if_due(self) -> bool:
        """Renew the lease once a third of it is used; False when the run has ended and there is none to keep."""
        header = await self.journal.store.get(self.journal.run_id)
        if header is not None and header.finished_at is not None:
            # Only the lease holder writes the end, and it releases the lease with it: this read came
            # after the run's last write, before the heartbeat was stopped. Nothing was lost.
            return False
        if header is None or header.lease_owner != self.terms.owner:
            raise LeaseLost(f"run {self.journal.run_id} is no longer leased to {self.terms.owner}")
        if header.cancel_requested and self.reason != "cancel":
            self.interrupt("cancel", now=True)
        now = time.time()
        left = (header.lease_expires_at or 0.0) - now
        if left < self.terms.seconds * 2 / 3:
            await self.journal.update(lambda _: self.terms.granted(time.time()))
        return True
