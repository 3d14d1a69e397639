"""``/api/schedules``: create, read, change, pause, delete and "run now" schedules (``triggers/``).

Roles and bodies are checked by the route table (``api/table.py``) before these run: viewers read, operators
change. A PATCH is applied to the stored request and the result checked as a whole request, so it is refused
(422, every problem named) exactly as a POST of the same schedule would be.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apps.agent_core.api.endpoint import Call
from apps.agent_core.api.http import ApiError
from apps.agent_core.api.schemas import RunAccepted
from apps.agent_core.store.base import VersionConflict
from apps.agent_core.triggers.notify import Notifications
from apps.agent_core.triggers.schedule_store import MAX_SCHEDULES, ScheduleNotFound
from apps.agent_core.triggers.scheduler import Scheduler
from apps.agent_core.triggers.schedules import ScheduleList, SchedulePatch, ScheduleRecord, ScheduleRequest

_UPDATE_ATTEMPTS = 5
"""A scheduler pass records a tick on the same item about once per tick; a PATCH that meets one re-reads."""


def _scheduler(request: Request) -> Scheduler:
    scheduler: Scheduler = request.app.state.scheduler
    return scheduler


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "no schedule with this id")


async def _record(scheduler: Scheduler, request: Request) -> ScheduleRecord:
    record = await scheduler.schedules.get(request.path_params["schedule_id"])
    if record is None:
        raise _not_found()
    return record


def _check_sinks(request: Request, spec: ScheduleRequest) -> None:
    """``notify`` may name only configured sinks (``AGENTIC_NOTIFY``): a typo would silently notify no one."""
    notifications: Notifications = request.app.state.notifications
    unknown = notifications.sinks.unknown(spec.notify)
    if unknown:
        problems: list[object] = [{"field": "notify", "message": message} for message in unknown]
        raise ApiError(422, "invalid_request", f"{len(problems)} problem(s) in the schedule", problems)


async def _answer(scheduler: Scheduler, record: ScheduleRecord, status: int = 200) -> Response:
    view = await scheduler.view(record)
    return JSONResponse(view.model_dump(mode="json"), status_code=status)


async def list_schedules(request: Request, _: Call[None]) -> Response:
    scheduler = _scheduler(request)
    views = await scheduler.views(await scheduler.schedules.list())
    return JSONResponse(ScheduleList(schedules=views).model_dump(mode="json"))


async def get_schedule(request: Request, _: Call[None]) -> Response:
    scheduler = _scheduler(request)
    return await _answer(scheduler, await _record(scheduler, request))


async def create_schedule(request: Request, call: Call[ScheduleRequest]) -> Response:
    scheduler = _scheduler(request)
    _check_sinks(request, call.body)
    if len(await scheduler.schedules.list()) >= MAX_SCHEDULES:
        raise ApiError(409, "conflict", f"there are already {MAX_SCHEDULES} schedules (the limit); delete one first")
    now = time.time()
    record = ScheduleRecord(
        id=uuid.uuid4().hex,
        spec=call.body,
        created_by=call.principal.name,
        created_at=now,
        updated_at=now,
        since=now,
    )
    await scheduler.schedules.create(record)
    return await _answer(scheduler, record, status=201)


def _patched(request: Request, patch: SchedulePatch) -> Callable[[ScheduleRecord], ScheduleRecord]:
    def apply(record: ScheduleRecord) -> ScheduleRecord:
        try:
            spec = ScheduleRequest.model_validate(patch.applied_to(record.spec))
        except ValidationError as exc:
            problems: list[object] = [
                {"field": ".".join(str(part) for part in error["loc"]) or "(body)", "message": error["msg"]}
                for error in exc.errors()
            ]
            raise ApiError(422, "invalid_request", f"{len(problems)} problem(s) in the schedule", problems) from None
        _check_sinks(request, spec)
        now = time.time()
        changes: dict[str, object] = {"spec": spec, "updated_at": now}
        before = record.spec
        retimed = (spec.cron, spec.timezone, spec.every) != (before.cron, before.timezone, before.every)
        if retimed or (spec.enabled and not before.enabled):
            # Ticks from now on: those that fell while paused, or on the old timing, are not owed.
            changes["since"] = now
        return record.model_copy(update=changes)

    return apply


async def update_schedule(request: Request, call: Call[SchedulePatch]) -> Response:
    scheduler = _scheduler(request)
    apply = _patched(request, call.body)
    for _ in range(_UPDATE_ATTEMPTS):
        record = await _record(scheduler, request)
        try:
            stored = await scheduler.schedules.update(apply(record))
        except ScheduleNotFound:
            raise _not_found() from None
        except VersionConflict:
            continue
        return await _answer(scheduler, stored)
    raise ApiError(409, "conflict", "the schedule kept changing while this change was made; send it again")


async def delete_schedule(request: Request, _: Call[None]) -> Response:
    if not await _scheduler(request).schedules.delete(request.path_params["schedule_id"]):
        raise _not_found()
    return Response(status_code=204)


async def run_schedule(request: Request, call: Call[None]) -> Response:
    scheduler = _scheduler(request)
    header = await scheduler.run_now(await _record(scheduler, request), call.principal)
    base = f"/api/runs/{header.id}"
    links = {"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel", "approvals": f"{base}/approvals"}
    accepted = RunAccepted(id=header.id, status=header.status, links=links)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)
