"""The agent core's HTTP API under /api: runs, approvals, events, tools, health, templates.

Each handler gets the caller and the parsed body from its entry in ``api/table.py``, which checked the role
and the body before calling it, and leaves errors to the exception handlers (``api/http.py``), which turn them
into JSON with the right status.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, get_args

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apps.agent_core.api.endpoint import Call
from apps.agent_core.api.http import MAX_EVENT_NUMBER, ApiError
from apps.agent_core.api.schemas import (
    ApprovalDecision,
    Caller,
    RunAccepted,
    RunList,
    RunSummary,
    StartRunRequest,
    TemplateList,
    ValidateWorkflowRequest,
    ValidationReport,
)
from apps.agent_core.model import TRIGGER_KINDS, RunHeader, RunStatus
from apps.agent_core.runs.errors import RunRequestError
from apps.agent_core.runs.service import RunService
from apps.agent_core.workflows.templates import list_templates

SETTLE_TIMEOUT_SECONDS = 300.0
"""How long ``POST /api`` waits for a run before answering with its state so far."""
SSE_PING_SECONDS = 15


def _service(request: Request) -> RunService:
    service: RunService = request.app.state.runs
    return service


def _json(model: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


def _links(run_id: str) -> dict[str, str]:
    base = f"/api/runs/{run_id}"
    return {"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel", "approvals": f"{base}/approvals"}


async def _start(service: RunService, call: Call[StartRunRequest]) -> RunHeader:
    body = call.body
    return await service.start(principal=call.principal, task=body.task, workflow=body.workflow, inputs=body.inputs)


async def run_and_wait(request: Request, call: Call[StartRunRequest]) -> Response:
    """``POST /api``: the original contract — run, wait until finished (or waiting for approval), return it."""
    service = _service(request)
    header = await _start(service, call)
    view = await service.wait_until_settled(header.id, SETTLE_TIMEOUT_SECONDS)
    assert view is not None
    return _json(view)


async def create_run(request: Request, call: Call[StartRunRequest]) -> Response:
    header = await _start(_service(request), call)
    return _json(RunAccepted(id=header.id, status=header.status, links=_links(header.id)), status=202)


async def list_runs(request: Request, _: Call[None]) -> Response:
    status = request.query_params.get("status")
    if status is not None and status not in get_args(RunStatus):
        raise ApiError(400, "invalid_request", f"status must be one of: {', '.join(get_args(RunStatus))}")
    try:
        limit = int(request.query_params.get("limit", "50"))
    except ValueError:
        raise ApiError(400, "invalid_request", "limit must be an integer") from None
    if not 1 <= limit <= 200:
        raise ApiError(400, "invalid_request", "limit must be between 1 and 200")
    trigger = request.query_params.get("trigger")
    if trigger is not None and trigger not in TRIGGER_KINDS:
        raise ApiError(400, "invalid_request", f"trigger must be one of: {', '.join(TRIGGER_KINDS)}")
    page = await _service(request).list_runs(
        status=status,  # type: ignore[arg-type]
        trigger=trigger,
        limit=limit,
        cursor=request.query_params.get("cursor"),
    )
    runs = [RunSummary.model_validate(header.model_dump()) for header in page.runs]
    return _json(RunList(runs=runs, next_cursor=page.next_cursor))


async def get_run(request: Request, _: Call[None]) -> Response:
    view = await _service(request).view(request.path_params["run_id"])
    if view is None:
        raise ApiError(404, "not_found", "no run with this id")
    return _json(view)


async def run_events(request: Request, _: Call[None]) -> Response:
    """Server-Sent Events of one run, from ``Last-Event-ID`` (or ``?after=``) on, until it finishes."""
    run_id = request.path_params["run_id"]
    service = _service(request)
    if await service.header(run_id) is None:
        raise ApiError(404, "not_found", "no run with this id")
    after = _event_number(request.headers.get("last-event-id") or request.query_params.get("after") or "0")

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for recorded in service.follow(run_id, after):
            kind = recorded.event.type
            payload = {"seq": recorded.seq, "type": kind, "at": recorded.at, "data": recorded.event.stored_data()}
            yield {"id": str(recorded.seq), "event": kind, "data": json.dumps(payload, default=str)}

    return EventSourceResponse(stream(), ping=SSE_PING_SECONDS, headers={"Cache-Control": "no-store"})


def _event_number(text: str) -> int:
    """``Last-Event-ID`` (or ``?after=``) as an event number: ASCII digits only (``int`` also takes "١٢", "1_0" and
    " 12 "), within what the store's integers hold (a bigger one overflowed SQLite and dropped the connection)."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(MAX_EVENT_NUMBER)):
        raise ApiError(
            400,
            "invalid_request",
            f"Last-Event-ID (or ?after=) must be an event number from 0 to {MAX_EVENT_NUMBER}; got {text[:40]!r}",
        )
    return int(digits)


async def cancel_run(request: Request, call: Call[None]) -> Response:
    header = await _service(request).cancel(request.path_params["run_id"], call.principal)
    return _json(RunAccepted(id=header.id, status=header.status, links=_links(header.id)), status=202)


async def decide_approval(request: Request, call: Call[ApprovalDecision]) -> Response:
    view = await _service(request).decide(request.path_params["run_id"], call.principal, call.body)
    return _json(view)


async def list_tools(request: Request, _: Call[None]) -> Response:
    refresh = request.query_params.get("refresh") in ("1", "true")
    return _json(await _service(request).tools(refresh=refresh))


async def me(_: Request, call: Call[None]) -> Response:
    return _json(Caller(name=call.principal.name, roles=sorted(call.principal.roles)))


async def health(request: Request, _: Call[None]) -> Response:
    return _json(await _service(request).health())


async def templates(request: Request, _: Call[None]) -> Response:
    return _json(TemplateList(templates=list_templates()))


async def validate(request: Request, call: Call[ValidateWorkflowRequest]) -> Response:
    try:
        await _service(request).validate_workflow(call.body.workflow)
    except RunRequestError as exc:
        return _json(ValidationReport(valid=False, problems=exc.problems))
    return _json(ValidationReport(valid=True, problems=[]))
