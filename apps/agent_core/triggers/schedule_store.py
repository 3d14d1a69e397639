"""Where schedules are kept: beside the runs, in the same SQLite file or DynamoDB table (``AGENTIC_STATE``).

Contract both backends keep (``tests/apps/agent_core/triggers/test_schedule_store.py`` checks it on both):

- ``create`` refuses an id that exists (``ScheduleExists``).
- ``update`` is a conditional write: it succeeds only if the stored version equals ``record.version``, stores
  ``version + 1`` and returns the stored record; otherwise ``VersionConflict`` (or ``ScheduleNotFound`` when the
  schedule is gone). Replicas recording the same tick therefore never overwrite each other silently.
- ``list`` returns every schedule, oldest first, at most ``MAX_SCHEDULES``; ``delete`` says whether one went.

What is stored is a ``ScheduleRecord`` as JSON; the layouts are in ``schedule_store_sqlite.py`` and
``schedule_store_dynamodb.py``. Exactly-once ticks do not depend on this store: a tick's run id is derived from
(schedule, tick) and the run store's conditional create starts it once (``scheduler.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from apps.agent_core.store import DYNAMODB_PREFIX, SQLITE_PREFIX, dynamodb_client
from apps.agent_core.store.base import StoreError
from apps.agent_core.triggers.schedules import ScheduleRecord

__all__ = ["MAX_SCHEDULES", "ScheduleExists", "ScheduleNotFound", "ScheduleStore", "open_schedule_store"]

MAX_SCHEDULES = 500
"""More than a team writes by hand; it bounds what every replica reads each second."""


class ScheduleExists(StoreError):
    pass


class ScheduleNotFound(StoreError):
    pass


class ScheduleStore(Protocol):
    async def create(self, record: ScheduleRecord) -> None: ...

    async def get(self, schedule_id: str) -> ScheduleRecord | None: ...

    async def list(self) -> list[ScheduleRecord]: ...

    async def update(self, record: ScheduleRecord) -> ScheduleRecord: ...

    async def delete(self, schedule_id: str) -> bool: ...

    async def close(self) -> None: ...


def open_schedule_store(url: str) -> ScheduleStore:
    """The schedule store beside the run store ``url`` names, which must have been opened (and so migrated) first."""
    if url.startswith(SQLITE_PREFIX):
        from apps.agent_core.triggers.schedule_store_sqlite import SqliteScheduleStore

        return SqliteScheduleStore(Path(url.removeprefix(SQLITE_PREFIX)))
    if url.startswith(DYNAMODB_PREFIX):
        from apps.agent_core.triggers.schedule_store_dynamodb import DynamoDBScheduleStore

        return DynamoDBScheduleStore(url.removeprefix(DYNAMODB_PREFIX), dynamodb_client(), close_client=True)
    raise ValueError(f"unsupported run store URL {url!r}")
