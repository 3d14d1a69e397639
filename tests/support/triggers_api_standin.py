"""A stand-in for the schedules and alert-rules API (issue 18's contract), installed in a real agent core.

The dashboard's Triggers page and ``cli schedules`` / ``cli triggers`` are tested against it while the real routes
are built elsewhere: it serves the contract's JSON, checks roles with the core's own keys (viewer reads, operator
changes), and records every request it answers. "Run now" starts a real run through the core's ``RunService`` with
a ``schedule`` trigger, so the run it returns opens in the run view like any other. What it does not do is keep
time: ``next_tick`` is computed for ``@every`` schedules and left as seeded (or null) for cron ones.

``install(app, standin)`` puts its routes before the core's, so they answer even once the real ones exist.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from apps.agent_core.api.http import ApiError, parse_body, principal
from apps.agent_core.app import create_app
from apps.agent_core.model import RunTrigger
from apps.agent_core.runs.service import RunService
from apps.agent_core.settings import AgentCoreSettings
from apps.agent_core.workflows.templates import get_template
from tests.support.agent_core import CoreClient
from tests.support.servers import serve_in_thread

EVERY = re.compile(r"^@every (\d+)(s|m|h)$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


class ScheduleFields(BaseModel):
    """The contract's ``ScheduleRequest``, every field optional: a PATCH sends any subset."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    cron: str | None = None
    timezone: str | None = None
    every: str | None = None
    template: str | None = None
    inputs: dict[str, Any] | None = None
    workflow: dict[str, Any] | str | None = None
    task: str | None = None
    enabled: bool | None = None
    catch_up: Literal["latest", "skip"] | None = None
    notify: list[str] | None = None

    @model_validator(mode="after")
    def _well_formed(self) -> ScheduleFields:
        if self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError("cron must have 5 fields (minute hour day-of-month month day-of-week)")
        if self.every is not None:
            found = EVERY.match(self.every)
            if not found or int(found[1]) * UNIT_SECONDS[found[2]] < 5:
                raise ValueError("every must look like '@every 30s', '@every 5m' or '@every 1h', at least 5 s")
        return self


def _complete(fields: dict[str, Any]) -> list[object]:
    """What a whole schedule (after a POST, or a PATCH merged in) lacks or has twice."""
    problems: list[object] = []
    if (fields.get("cron") is None) == (fields.get("every") is None):
        problems.append("exactly one of cron or every is needed")
    targets = [name for name in ("template", "workflow", "task") if fields.get(name) is not None]
    if len(targets) != 1:
        problems.append("exactly one target is needed: template, workflow or task")
    if not fields.get("name"):
        problems.append("name is needed")
    return problems


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    body: Any
    caller: str


@dataclass
class TriggersStandIn:
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def seed(self, **fields: Any) -> dict[str, Any]:
        """A stored schedule with the contract's defaults; ``fields`` as a request (or the read-only fields) has."""
        now = _iso(dt.datetime.now(dt.UTC))
        schedule: dict[str, Any] = {
            "id": uuid.uuid4().hex[:12],
            "timezone": "UTC" if fields.get("cron") else None,
            "cron": None,
            "every": None,
            "template": None,
            "inputs": {},
            "workflow": None,
            "task": None,
            "enabled": True,
            "catch_up": "latest",
            "notify": [],
            "created_by": "local",
            "created_at": now,
            "updated_at": now,
            "next_tick": None,
            "last_run": None,
            **fields,
        }
        _retime(schedule)
        self.schedules[schedule["id"]] = schedule
        return schedule

    def routes(self) -> list[Route]:
        return [
            Route("/api/schedules", self._list, methods=["GET"]),
            Route("/api/schedules", self._create, methods=["POST"]),
            Route("/api/schedules/{id}", self._get, methods=["GET"]),
            Route("/api/schedules/{id}", self._patch, methods=["PATCH"]),
            Route("/api/schedules/{id}", self._delete, methods=["DELETE"]),
            Route("/api/schedules/{id}/run", self._run_now, methods=["POST"]),
            Route("/api/triggers", self._rules, methods=["GET"]),
        ]

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    async def _record(self, request: Request, role: Literal["viewer", "operator"]) -> Any:
        raw = await request.body()
        caller = principal(request, role)  # 401/403 in the API's own format, before anything is recorded
        self.requests.append(Recorded(request.method, request.url.path, raw.decode() or None, caller.name))
        return caller

    def _schedule(self, request: Request) -> dict[str, Any]:
        found = self.schedules.get(request.path_params["id"])
        if found is None:
            raise ApiError(404, "not_found", "no schedule with this id")
        return found

    async def _with_last_status(self, request: Request, schedule: dict[str, Any]) -> dict[str, Any]:
        last = schedule.get("last_run")
        runs: RunService = request.app.state.runs
        if last and (header := await runs.header(last["run_id"])) is not None:
            last.update(status=header.status, finished_at=header.finished_at)
        return schedule

    async def _list(self, request: Request) -> Response:
        await self._record(request, "viewer")
        listed = [await self._with_last_status(request, s) for s in self.schedules.values()]
        return JSONResponse({"schedules": listed})

    async def _get(self, request: Request) -> Response:
        await self._record(request, "viewer")
        return JSONResponse(await self._with_last_status(request, self._schedule(request)))

    async def _create(self, request: Request) -> Response:
        caller = await self._record(request, "operator")
        body = (await parse_body(request, ScheduleFields)).model_dump(exclude_none=True)
        if problems := _complete(body):
            raise ApiError(422, "invalid_request", f"{len(problems)} problem(s) in the schedule", problems)
        return JSONResponse(self.seed(**body, created_by=caller.name), status_code=201)

    async def _patch(self, request: Request) -> Response:
        await self._record(request, "operator")
        schedule = self._schedule(request)
        changes = (await parse_body(request, ScheduleFields)).model_dump(exclude_unset=True)
        merged = {**schedule, **changes}
        if problems := _complete(merged):
            raise ApiError(422, "invalid_request", f"{len(problems)} problem(s) in the schedule", problems)
        schedule.update(changes, updated_at=_iso(dt.datetime.now(dt.UTC)))
        _retime(schedule)
        return JSONResponse(await self._with_last_status(request, schedule))

    async def _delete(self, request: Request) -> Response:
        await self._record(request, "operator")
        del self.schedules[self._schedule(request)["id"]]
        return Response(status_code=204)

    async def _run_now(self, request: Request) -> Response:
        caller = await self._record(request, "operator")
        schedule = self._schedule(request)
        tick = f"manual:{_iso(dt.datetime.now(dt.UTC))}"
        target: dict[str, Any] = {"task": schedule["task"]} if schedule.get("task") else {}
        if schedule.get("template"):
            template = get_template(schedule["template"])
            if template is None:
                raise ApiError(422, "invalid_request", f"no template {schedule['template']!r}")
            target = {"workflow": template.workflow.model_dump(mode="json", exclude_none=True)}
        elif schedule.get("workflow"):
            target = {"workflow": schedule["workflow"]}
        if target.get("workflow") is not None:
            target["inputs"] = schedule.get("inputs") or {}
        runs: RunService = request.app.state.runs
        trigger = RunTrigger(kind="schedule", id=schedule["id"], name=schedule["name"], detail={"tick": tick})
        header = await runs.start(principal=caller, trigger=trigger, **target)
        schedule["last_run"] = {"run_id": header.id, "tick": tick, "status": header.status, "finished_at": None}
        links = {"self": f"/api/runs/{header.id}", "events": f"/api/runs/{header.id}/events"}
        return JSONResponse({"id": header.id, "status": header.status, "links": links}, status_code=202)

    async def _rules(self, request: Request) -> Response:
        await self._record(request, "viewer")
        return JSONResponse({"rules": self.rules})


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _retime(schedule: dict[str, Any]) -> None:
    if not schedule.get("enabled"):
        schedule["next_tick"] = None
    elif schedule.get("every") and (found := EVERY.match(schedule["every"])):
        step = dt.timedelta(seconds=int(found[1]) * UNIT_SECONDS[found[2]])
        schedule["next_tick"] = _iso(dt.datetime.now(dt.UTC) + step)


def builtin_rule(name: str, alertname: str, template: str, **extra: Any) -> dict[str, Any]:
    """A rule as ``GET /api/triggers`` lists it."""
    return {
        "name": name,
        "source": "builtin",
        "match": {"labels": {"alertname": alertname}, "labels_regex": {}},
        "target": {"template": template, "inputs": {"pod": "{{ alert.labels.pod }}"}},
        "cooldown_seconds": 900,
        "rate_limit": {"runs": 5, "per_seconds": 3600},
        "notify": [],
        "enabled": True,
        "last_run": None,
        **extra,
    }


def install(app: Starlette, standin: TriggersStandIn) -> None:
    """Answer the trigger routes from ``standin``, ahead of whatever the core has for them."""
    app.router.routes[:0] = standin.routes()


@contextlib.contextmanager
def run_core_with_standin(
    standin: TriggersStandIn, mcp_servers: dict[str, str], state_dir: Path, **settings: Any
) -> Iterator[CoreClient]:
    """A real agent core (as ``run_agent_core`` starts one) whose trigger routes are ``standin``'s."""
    values: dict[str, Any] = {
        "mcp_servers": ",".join(f"{name}={url}" for name, url in mcp_servers.items()),
        "state": f"sqlite:///{state_dir}/runs.db",
        "reasoner": "offline",
        **settings,
    }
    app = create_app(AgentCoreSettings(**values))
    install(app, standin)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield CoreClient(url, http)
