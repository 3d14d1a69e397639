"""The scheduler: in every replica, once a second, start the schedules' due ticks, each exactly once.

A tick is due when ``now >= tick``. Each pass reads every schedule and, for each enabled one, takes the latest
tick at or before now; if it is later than the schedule's recorded position (``ScheduleRecord.after``: its last
started tick, or when it was created, resumed or re-timed), the tick's run is started with the id
``trigger_run_id("schedule", <schedule id>, <tick>)``. The run store's conditional create lets exactly one
replica create that run; the others get ``RunExists`` and only record the position. So:

- two live replicas never both run a tick, and never skip one: the position moves only to a tick some replica
  has started (or found started), and each pass looks back to the position, not only at "now";
- a replica SIGKILLed after choosing a tick but before creating its run leaves the id free: the next pass of
  any replica creates it; one killed after creating it but before recording the position leaves a run that the
  next pass finds (``RunExists``), and the run itself is resumed by the run service's lease takeover.

Missed ticks (no replica was running, or the store was down, for longer than the interval): only the latest
due tick is considered, the earlier ones are passed over. ``catch_up: latest`` starts it however late;
``catch_up: skip`` starts it only if it is less than ``MISSED_AFTER_SECONDS`` old, else just records it as
passed. A tick whose run cannot start (its workflow no longer validates) is recorded with the reason
(``last_error``) rather than retried every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from apps.agent_core.auth import Principal
from apps.agent_core.model import RunHeader, RunTrigger
from apps.agent_core.runs.errors import DrainingError, RunRequestError
from apps.agent_core.runs.service import RunService
from apps.agent_core.store.base import RunExists, StoreError, VersionConflict
from apps.agent_core.triggers.cron import tick_text
from apps.agent_core.triggers.ids import trigger_run_id
from apps.agent_core.triggers.schedule_store import ScheduleNotFound, ScheduleStore, open_schedule_store
from apps.agent_core.triggers.schedules import LastRun, Schedule, ScheduleRecord, ScheduleRequest, TickRef
from apps.agent_core.workflows.templates import get_template

__all__ = ["MISSED_AFTER_SECONDS", "PASS_SECONDS", "Scheduler", "open_scheduler", "run_target"]

PASS_SECONDS = 1.0
"""How often each replica looks for due ticks: a tick starts within about this long of its time."""
MISSED_AFTER_SECONDS = 60.0
"""A due tick not started within this long of its time was missed (``catch_up: skip`` passes over it)."""
STARTS_PER_PASS = 20
"""Ticks started per pass at most; the rest wait a second. Bounds a pass after a long outage."""
_RECORD_ATTEMPTS = 3

log = logging.getLogger(__name__)


def run_target(spec: ScheduleRequest) -> dict[str, Any]:
    """What a tick asks ``RunService.start`` for: the task, or the workflow (a template's as it is now) and inputs."""
    if spec.task is not None:
        return {"task": spec.task}
    if spec.template is not None:
        template = get_template(spec.template)
        if template is None:  # a template removed by an upgrade since the schedule was made
            raise RunRequestError([f"the built-in template {spec.template!r} no longer exists"])
        return {"workflow": template.workflow.model_dump(mode="json"), "inputs": spec.inputs or {}}
    return {"workflow": spec.workflow, "inputs": spec.inputs or {}}


class Scheduler:
    def __init__(
        self,
        *,
        schedules: ScheduleStore,
        runs: RunService,
        pass_seconds: float = PASS_SECONDS,
        clock: Any = time.time,
    ) -> None:
        self.schedules = schedules
        self.runs = runs
        self.pass_seconds = pass_seconds
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    # -- the loop --------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._forever(), name="scheduler")

    async def stop(self) -> None:
        """Stop looking for ticks (shutdown or drain); a start in flight is cut off, and another replica does it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.schedules.close()

    async def _forever(self) -> None:
        while not self.runs.draining:
            began = time.monotonic()
            try:
                await self.run_pass()
            except StoreError as exc:
                log.warning("could not look for due schedule ticks: %s", exc)
            except Exception:  # a bug in one pass must not stop every schedule in this replica for good
                log.exception("a scheduler pass failed")
            await asyncio.sleep(max(0.0, self.pass_seconds - (time.monotonic() - began)))

    async def run_pass(self) -> list[str]:
        """One look at every schedule; returns the ids of the runs this replica created."""
        created: list[str] = []
        starts = 0
        for record in await self.schedules.list():
            if not record.spec.enabled or starts >= STARTS_PER_PASS or self.runs.draining:
                continue
            now = self._clock()
            tick = record.spec.timing().latest_until(datetime.fromtimestamp(now, UTC))
            if tick <= record.after():
                continue
            starts += 1
            try:
                run_id = await self._start_tick(record, tick, now)
            except DrainingError:
                break
            except StoreError as exc:  # the position stays: the next pass tries the same tick (same run id)
                log.warning("could not start a schedule's tick: %s", exc, extra={"schedule_id": record.id})
                continue
            if run_id is not None:
                created.append(run_id)
        return created

    async def _start_tick(self, record: ScheduleRecord, tick: datetime, now: float) -> str | None:
        text = tick_text(tick)
        run_id = trigger_run_id("schedule", record.id, text)
        ran: TickRef | None = TickRef(run_id=run_id, tick=text)
        error = None
        created = None
        if record.spec.catch_up == "skip" and now - tick.timestamp() > MISSED_AFTER_SECONDS:
            ran = None
            log.info("passed over a missed tick", extra={"schedule_id": record.id, "tick": text})
        else:
            try:
                await self._start(
                    record, detail=text, run_id=run_id, principal=Principal(record.created_by, frozenset())
                )
                created = run_id
                log.info("started a schedule's tick", extra={"schedule_id": record.id, "tick": text, "run_id": run_id})
            except RunExists:
                pass  # another replica started it: exactly what the deterministic id is for
            except RunRequestError as exc:
                ran, error = None, f"the tick at {text} started no run: {'; '.join(exc.problems)}"
                log.warning("a schedule's tick could not start", extra={"schedule_id": record.id, "error": error})
        await self._record(record, tick.timestamp(), ran, error)
        return created

    async def _start(self, record: ScheduleRecord, *, detail: str, run_id: str, principal: Principal) -> RunHeader:
        trigger = RunTrigger(
            kind="schedule", id=record.id, name=record.spec.name, detail={"tick": detail}, notify=record.spec.notify
        )
        return await self.runs.start(principal=principal, trigger=trigger, run_id=run_id, **run_target(record.spec))

    async def _record(self, record: ScheduleRecord, tick: float, ran: TickRef | None, error: str | None) -> None:
        """Move the schedule's position to ``tick`` (never back), on the version read; re-read on a conflict."""
        current: ScheduleRecord | None = record
        for _ in range(_RECORD_ATTEMPTS):
            if current is None or (current.cursor or 0.0) >= tick:
                return  # deleted, or another replica recorded this tick (or a later one) first
            changes: dict[str, Any] = {"cursor": tick, "last_error": error}
            if ran is not None:
                changes["last_run"] = ran
            try:
                await self.schedules.update(current.model_copy(update=changes))
                return
            except ScheduleNotFound:
                return
            except VersionConflict:
                current = await self.schedules.get(record.id)

    # -- for the API -----------------------------------------------------------------------------

    async def run_now(self, record: ScheduleRecord, principal: Principal) -> RunHeader:
        """Start one run of the schedule at once ("run now"), as ``principal``; the ticks go on as before."""
        text = f"manual:{datetime.fromtimestamp(self._clock(), UTC).isoformat()}"
        run_id = trigger_run_id("schedule", record.id, text)
        header = await self._start(record, detail=text, run_id=run_id, principal=principal)
        current: ScheduleRecord | None = record
        for _ in range(_RECORD_ATTEMPTS):
            if current is None:
                break
            try:
                await self.schedules.update(current.model_copy(update={"last_run": TickRef(run_id=run_id, tick=text)}))
                break
            except ScheduleNotFound:
                break
            except VersionConflict:
                current = await self.schedules.get(record.id)
        return header

    async def view(self, record: ScheduleRecord) -> Schedule:
        """The schedule as the API shows it: its next tick (none while paused) and its last run's outcome now."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        next_tick = None
        if record.spec.enabled:
            next_tick = tick_text(record.spec.timing().next_after(max(record.after(), now)))
        last_run = None
        if record.last_run is not None:
            header = await self.runs.header(record.last_run.run_id)
            last_run = LastRun(
                run_id=record.last_run.run_id,
                tick=record.last_run.tick,
                status=header.status if header else None,
                finished_at=header.finished_at if header else None,
            )
        return Schedule.model_validate(
            {
                **record.spec.model_dump(),
                "id": record.id,
                "created_by": record.created_by,
                "created_at": record.created_at,
                "updated_at": record.updated_at,
                "next_tick": next_tick,
                "last_run": last_run,
                "last_error": record.last_error,
            }
        )

    async def views(self, records: list[ScheduleRecord]) -> list[Schedule]:
        return list(await asyncio.gather(*(self.view(record) for record in records)))


def open_scheduler(state_url: str, runs: RunService) -> Scheduler:
    """The scheduler of the app whose run store ``state_url`` names (opened, and so migrated, before this)."""
    return Scheduler(schedules=open_schedule_store(state_url), runs=runs)
