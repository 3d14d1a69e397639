"""The route table enforces each route's role and body before its handler runs, and documents the same rules.

Every entry of the real table is served over HTTP with its handler swapped for one that records its calls:
what reaches a handler is exactly what the table let through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from apps.agent_core.api.endpoint import ApiRoute, Call
from apps.agent_core.api.http import EXCEPTION_HANDLERS
from apps.agent_core.api.openapi import openapi_document
from apps.agent_core.api.schemas import (
    ApprovalDecision,
    ExternalPayload,
    StartRunRequest,
    StrictBody,
    ValidateWorkflowRequest,
)
from apps.agent_core.api.table import API_ROUTES
from apps.agent_core.auth import ROLES, ApiKeys
from apps.agent_core.triggers.alertmanager import AlertmanagerMessage
from apps.agent_core.triggers.schedules import SchedulePatch, ScheduleRequest
from tests.support.agent_core import Keys, make_keys
from tests.support.servers import serve_in_thread

VALID_BODIES: dict[type[StrictBody], dict[str, Any]] = {
    StartRunRequest: {"task": "list my buckets"},
    ApprovalDecision: {"decision": "approve", "reason": "looks right"},
    ValidateWorkflowRequest: {"workflow": {"name": "w", "steps": []}},
    # What Alertmanager 0.25 sent (tests/apps/agent_core/triggers/test_alertmanager_payload.py)
    AlertmanagerMessage: json.loads(
        (Path(__file__).parents[1] / "triggers" / "alertmanager-0.25-firing.json").read_text()
    ),
    ScheduleRequest: {"name": "nightly", "cron": "0 2 * * *", "timezone": "Europe/Paris", "task": "report"},
    SchedulePatch: {"enabled": False},
}
"""A valid body for each body model in the table; a new one needs an entry here."""

ROUTE_IDS = [f"{route.method} {route.path}" for route in API_ROUTES]


@dataclass
class Recorded:
    calls: dict[str, list[Call[Any]]] = field(default_factory=dict)

    def handler_for(self, route_id: str) -> Any:
        async def record(_: Request, call: Call[Any]) -> Response:
            self.calls.setdefault(route_id, []).append(call)
            return PlainTextResponse("handled")

        return record


@dataclass
class TableServer:
    url: str
    keys: Keys
    recorded: Recorded

    def send(self, route: ApiRoute[Any], role: str | None, body: bytes | None = None) -> httpx.Response:
        key = getattr(self.keys, role) if role else None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        path = re.sub(r"\{\w+\}", "id-1", route.path)  # {run_id}, {schedule_id}
        return httpx.request(route.method, self.url + path, content=body, headers=headers, timeout=10)

    def calls(self, route: ApiRoute[Any]) -> list[Call[Any]]:
        return self.recorded.calls.pop(f"{route.method} {route.path}", [])


@pytest.fixture(scope="module")
def served() -> Iterator[TableServer]:
    recorded = Recorded()
    recording = [
        ApiRoute(
            route.method,
            route.path,
            recorded.handler_for(route_id),
            role=route.role,
            body=route.body,
            summary=route.summary,
            responses=route.responses,
        )
        for route_id, route in zip(ROUTE_IDS, API_ROUTES, strict=True)
    ]

    async def health(_: Request) -> Response:
        return PlainTextResponse("OK")

    app = Starlette(
        routes=[*(route.route() for route in recording), Route("/health", health)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    keys = make_keys()
    app.state.api_keys = ApiKeys.load(None, keys.entries_json)
    with serve_in_thread(app) as url:
        yield TableServer(url, keys, recorded)


@pytest.fixture
def server(served: TableServer) -> TableServer:
    served.recorded.calls.clear()  # a failed test must not leave its calls to the next one
    return served


def _route(route_id: str) -> ApiRoute[Any]:
    return API_ROUTES[ROUTE_IDS.index(route_id)]


def _valid_body(route: ApiRoute[Any]) -> bytes | None:
    return None if route.body is None else json.dumps(VALID_BODIES[route.body]).encode()


def test_every_route_declares_a_role_and_a_strict_body_model_if_any() -> None:
    assert len(set(ROUTE_IDS)) == len(ROUTE_IDS), "one entry per method and path"
    for route in API_ROUTES:
        assert route.role in ROLES, route
        assert route.summary and any(200 <= status < 300 for status in route.responses), route
        if route.body is not None:
            # Ours refuse unknown fields; another system's payload ignores the fields its later versions add.
            assert issubclass(route.body, StrictBody | ExternalPayload), f"{route.path}: unknown fields must be refused"
            assert route.body in VALID_BODIES, f"add a valid {route.body.__name__} to VALID_BODIES"


@pytest.mark.parametrize("route_id", ROUTE_IDS)
def test_the_document_states_the_role_and_body_the_route_enforces(route_id: str) -> None:
    route = _route(route_id)
    document = openapi_document(API_ROUTES, title="t", version="1")
    spec = document["paths"][route.path][route.method.lower()]
    assert spec["description"] == f"Requires the {route.role} role."
    assert spec["security"] == [{"apiKey": []}]
    assert {"401", "403"} <= set(spec["responses"])
    if route.body is None:
        assert "requestBody" not in spec
    else:
        schema = spec["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{route.body.__name__}"}
        assert "422" in spec["responses"]


@pytest.mark.parametrize("route_id", ROUTE_IDS)
def test_a_caller_without_the_role_is_refused_before_the_handler(server: TableServer, route_id: str) -> None:
    route = _route(route_id)
    body = _valid_body(route)
    anonymous = server.send(route, None, body)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    # Every role reads (viewer routes) except trigger, whose key only delivers to the trigger endpoints.
    lacking = [role for role in ROLES if role != route.role and (route.role != "viewer" or role == "trigger")]
    for role in lacking:
        refused = server.send(route, role, body)
        assert refused.status_code == 403, (role, refused.text)
        assert refused.json()["message"] == f"the key '{role}-user' does not have the {route.role} role"
    assert server.calls(route) == [], "the handler ran for a caller without the role"


@pytest.mark.parametrize("route_id", [route_id for route_id in ROUTE_IDS if _route(route_id).body is not None])
@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (b"{not json", 400, "the body is not valid JSON: Expecting property name"),
        (b"[1, 2]", 400, "the body must be a JSON object"),
        (b"", 400, "the body must be a JSON object"),
        (json.dumps({"colour": "red"}).encode(), 422, "colour"),
    ],
)
def test_a_bad_body_is_refused_before_the_handler(
    server: TableServer, route_id: str, body: bytes, status: int, expected: str
) -> None:
    route = _route(route_id)
    if expected == "colour" and route.body is not None and issubclass(route.body, ExternalPayload):
        expected = "Field required"  # the unknown field is ignored; what the sender always writes is missing
    response = server.send(route, route.role, body)
    assert response.status_code == status, response.text
    assert expected in response.text
    assert server.calls(route) == [], "the handler ran with a body its model refuses"


@pytest.mark.parametrize("route_id", ROUTE_IDS)
def test_the_handler_gets_the_caller_and_the_parsed_body(server: TableServer, route_id: str) -> None:
    route = _route(route_id)
    response = server.send(route, route.role, _valid_body(route))
    assert response.status_code == 200 and response.text == "handled", response.text
    [call] = server.calls(route)
    assert call.principal.name == f"{route.role}-user"
    if route.body is None:
        assert call.body is None
    else:
        assert call.body == route.body.model_validate(VALID_BODIES[route.body])


def test_the_readme_route_table_names_every_route_with_its_role() -> None:
    """README.md's table of routes is checked against the route table, so the two cannot drift apart."""
    readme = (Path(__file__).parents[4] / "README.md").read_text(encoding="utf-8")
    documented: dict[tuple[str, str], str] = {}
    methods = "GET|POST|PATCH|DELETE"
    for row in re.findall(rf"^\| (`(?:{methods}) /api[^|]*) \| (\w+) \|", readme, flags=re.MULTILINE):
        for method, path in re.findall(rf"`({methods}) (/api[^`?]*)", row[0]):
            documented[(method, path)] = row[1]
    # The README names every path parameter {id}.
    assert documented == {(route.method, re.sub(r"\{\w+\}", "{id}", route.path)): route.role for route in API_ROUTES}
