"""The run store: one small interface, two backends (SQLite on one machine, DynamoDB in the cluster).

Contract every backend keeps (the shared test suite checks it on both):

- ``create`` refuses an id that exists (``RunExists``).
- ``update`` is a conditional write: it succeeds only if the stored version equals
  ``header.version``, stores ``version + 1`` and returns the stored header; otherwise
  ``VersionConflict``. Two replicas can therefore never overwrite each other's changes silently.
- ``append_event`` assigns the next sequence number for the run atomically (1, 2, 3…, no gaps, no
  duplicates, even with concurrent writers) and returns the stored event. With ``lease_owner`` it is
  fenced: it succeeds only while the header names that owner and its lease has not expired (by the
  store's clock), else ``LeaseLost`` and nothing is written. A replica that stalled past its lease can
  therefore never journal a step after another replica took the run over.
- ``append_event(once=key)`` writes the event only if no earlier event of the run was written with
  the same ``key`` (unique within the run, e.g. ``"decision:<approval id>"``; 1 to
  ``codec.MAX_ONCE_KEY_BYTES`` bytes of UTF-8, else ``ValueError``). Otherwise nothing is written, no
  sequence number is used, and it raises ``AlreadyRecorded`` with the seq of the event holding the
  key. The key test, the numbering and the lease fence are one atomic write: of any number of
  concurrent appends with one key (from any replica or process), exactly one lands. Checks run in the
  order run exists (``RunNotFound``), lease (``LeaseLost``), key (``AlreadyRecorded``). Keys are
  never released.
- ``update`` also stores the header's lease (``lease_owner``, ``lease_expires_at``) where
  ``append_event`` and ``expired_leases`` can test it without parsing the header.
- ``expired_leases(now)`` returns runs in an active status (``ACTIVE_STATUSES``) whose lease expired
  before ``now`` or that have none, oldest lease first, at most ``limit``. It may read a little stale
  (DynamoDB's index): a caller takes a run over with ``update``, which fails on a stale version.
- ``events(after=n)`` returns events with ``seq > n`` in order, at most ``limit``, and fewer only when
  no later event exists (a short page is the end).
- ``list`` returns headers newest first (``created_at`` then id), optionally of one status and of one
  trigger kind (runs stored before triggers count as ``api``), in pages of at most ``limit`` with an
  opaque cursor for the next page (``None`` at the end), valid only with the same filters.
- ``claim(key, holder, now=, ttl_seconds=)`` is a conditional write: of concurrent claims of a free (or
  lapsed) key exactly one returns ``True``. Keys are 1 to ``codec.MAX_ONCE_KEY_BYTES`` bytes of UTF-8.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, Protocol

from apps.agent_core.model import EventType, RunEvent, RunHeader, RunStatus, TriggerKind


class StoreError(Exception):
    """The store cannot do what was asked; the message is safe to show."""


class RunExists(StoreError):
    pass


class RunNotFound(StoreError):
    pass


class VersionConflict(StoreError):
    """Someone else updated the run since it was read; re-read and retry."""


class InvalidCursor(StoreError):
    pass


class LeaseLost(StoreError):
    """The run's lease is no longer this replica's (it expired or another replica took the run over)."""


class AlreadyRecorded(StoreError):
    """An event of the run already holds this ``once`` key; nothing was written.

    ``existing_seq`` is that event's sequence number, so the caller can read what was recorded first.
    """

    def __init__(self, run_id: str, key: str, existing_seq: int) -> None:
        super().__init__(f"run {run_id!r} already recorded {key!r} (event {existing_seq})")
        self.run_id = run_id
        self.key = key
        self.existing_seq = existing_seq


@dataclass(frozen=True)
class RunPage:
    runs: list[RunHeader]
    next_cursor: str | None


class RunStore(Protocol):
    async def create(self, header: RunHeader) -> None: ...

    async def get(self, run_id: str) -> RunHeader | None: ...

    async def update(self, header: RunHeader) -> RunHeader: ...

    async def list(
        self,
        *,
        status: RunStatus | None = None,
        trigger: TriggerKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunPage: ...

    async def append_event(
        self,
        run_id: str,
        type: EventType,
        data: dict[str, Any],
        *,
        lease_owner: str | None = None,
        once: str | None = None,
    ) -> RunEvent: ...

    async def events(self, run_id: str, *, after: int = 0, limit: int = 1000) -> builtins.list[RunEvent]: ...

    async def expired_leases(self, now: float, *, limit: int = 50) -> builtins.list[RunHeader]: ...

    async def claim(self, key: str, holder: str, *, now: float, ttl_seconds: float | None = None) -> bool:
        """Take ``key`` for ``holder`` unless someone holds it: ``True`` for exactly one of any concurrent callers.

        A claim with ``ttl_seconds`` lapses at ``now + ttl_seconds``; after that the next caller gets it. Without
        one it is held for ever. For what must happen once across replicas and is not a run (whose own id is
        claimed by ``create``): a rate limit's slots, an alert's cool-down.
        """
        ...

    async def check(self) -> None:
        """Readiness: raise ``StoreError`` when the store cannot be used."""
        ...

    async def close(self) -> None: ...
