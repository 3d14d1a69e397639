"""``/api/schedules`` through a real agent core over HTTP: roles, every problem named, pause, run now, delete."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.agent_core import CoreClient, Keys, make_keys, run_agent_core
from tests.support.lab_server import run_lab_server

DASHBOARD = "https://dashboard.example"
MORNING = {"name": "morning report", "cron": "0 6 * * 1-5", "timezone": "Europe/Paris", "task": "summarise the day"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CoreClient, Keys]]:
    keys = make_keys()
    with (
        run_lab_server() as (lab, _),
        run_agent_core(
            {"lab": lab}, tmp_path_factory.mktemp("core"), api_keys=keys.entries_json, cors_origins=DASHBOARD
        ) as core,
    ):
        yield core, keys


def call(core: CoreClient, key: str, method: str, path: str, body: Any = None) -> httpx.Response:
    return core.http.request(method, path, json=body, headers={"Authorization": f"Bearer {key}"})


def test_a_schedule_round_trip(served: tuple[CoreClient, Keys]) -> None:
    core, keys = served
    created = call(core, keys.operator, "POST", "/api/schedules", MORNING)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert {key: schedule[key] for key in MORNING} == MORNING
    assert schedule["created_by"] == "operator-user" and schedule["last_run"] is None
    assert schedule["enabled"] is True and schedule["catch_up"] == "latest" and schedule["notify"] == []
    assert schedule["next_tick"].endswith(("T04:00:00+00:00", "T05:00:00+00:00"))  # 06:00 in Paris, CEST or CET
    path = f"/api/schedules/{schedule['id']}"

    listed = call(core, keys.viewer, "GET", "/api/schedules").json()["schedules"]
    assert schedule["id"] in [found["id"] for found in listed]
    assert call(core, keys.viewer, "GET", path).json() == schedule

    paused = call(core, keys.operator, "PATCH", path, {"enabled": False})
    assert paused.status_code == 200 and paused.json()["next_tick"] is None and not paused.json()["enabled"]
    resumed = call(core, keys.operator, "PATCH", path, {"enabled": True, "every": "@every 1h"})
    assert resumed.json()["cron"] is None and resumed.json()["timezone"] is None
    assert resumed.json()["next_tick"].endswith(":00:00+00:00")

    accepted = call(core, keys.operator, "POST", f"{path}/run")
    assert accepted.status_code == 202, accepted.text
    run = core.run(accepted.json()["id"], keys.viewer)
    assert run["trigger"]["kind"] == "schedule" and run["trigger"]["id"] == schedule["id"]
    assert run["trigger"]["detail"]["tick"].startswith("manual:20")
    last_run = call(core, keys.viewer, "GET", path).json()["last_run"]
    assert last_run["run_id"] == accepted.json()["id"] and last_run["status"] in {"queued", "running", "failed"}
    by_trigger = call(core, keys.viewer, "GET", "/api/runs?trigger=schedule").json()["runs"]
    assert accepted.json()["id"] in [found["id"] for found in by_trigger]

    assert call(core, keys.operator, "DELETE", path).status_code == 204
    assert call(core, keys.viewer, "GET", path).status_code == 404
    assert call(core, keys.operator, "DELETE", path).json()["message"] == "no schedule with this id"
    assert call(core, keys.operator, "POST", f"{path}/run").status_code == 404


def test_bad_input_gets_422_naming_every_problem(served: tuple[CoreClient, Keys]) -> None:
    core, keys = served
    bad = {"name": "x", "cron": "0 25 * * *", "every": "@every 2s", "task": "t", "workflow": "w", "colour": 1}
    refused = call(core, keys.operator, "POST", "/api/schedules", bad)
    assert refused.status_code == 422
    assert refused.json()["problems"] == [
        {"field": "cron", "message": "invalid cron expression '0 25 * * *': Bad hour"},
        {"field": "every", "message": "'@every 2s' is shorter than the minimum interval of 5 s"},
        {"field": "colour", "message": "Extra inputs are not permitted"},
        {"field": "every", "message": "send exactly one of 'cron' or 'every'"},
        {"field": "task", "message": "send exactly one of 'template', 'workflow' or 'task'"},
    ]
    schedule = call(core, keys.operator, "POST", "/api/schedules", MORNING).json()
    path = f"/api/schedules/{schedule['id']}"
    # A change is checked as the whole schedule it makes.
    patched = call(core, keys.operator, "PATCH", path, {"timezone": "Europe/Atlantis", "inputs": {"a": 1}})
    assert patched.status_code == 422
    assert [problem["field"] for problem in patched.json()["problems"]] == ["timezone", "inputs"]
    assert call(core, keys.operator, "PATCH", path, {"paused": True}).status_code == 422
    assert call(core, keys.viewer, "GET", path).json()["timezone"] == "Europe/Paris"  # nothing of it was kept
    assert call(core, keys.operator, "PATCH", "/api/schedules/nope", {"enabled": False}).status_code == 404
    unknown_sink = call(core, keys.operator, "PATCH", path, {"notify": ["team-slack"]})
    assert unknown_sink.status_code == 422
    assert unknown_sink.json()["problems"] == [
        {
            "field": "notify",
            "message": "no notification sink is named 'team-slack' (configured: none: AGENTIC_NOTIFY is not set)",
        }
    ]


def test_viewers_read_and_only_operators_change(served: tuple[CoreClient, Keys]) -> None:
    core, keys = served
    for key, name in ((keys.viewer, "viewer-user"), (keys.approver, "approver-user"), (keys.trigger, "trigger-user")):
        refused = call(core, key, "POST", "/api/schedules", MORNING)
        assert (
            refused.status_code == 403
            and refused.json()["message"] == f"the key '{name}' does not have the operator role"
        )
    assert call(core, keys.trigger, "GET", "/api/schedules").status_code == 403
    assert call(core, keys.approver, "GET", "/api/schedules").status_code == 200


def test_a_browser_on_the_dashboards_origin_may_patch_and_delete(served: tuple[CoreClient, Keys]) -> None:
    core, _ = served
    for method in ("PATCH", "DELETE"):
        preflight = core.http.options(
            "/api/schedules/x",
            headers={
                "Origin": DASHBOARD,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert method in preflight.headers["access-control-allow-methods"]
