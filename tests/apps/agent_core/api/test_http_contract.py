"""The API's HTTP contract: events, cancel, listing, CORS, limits, OpenAPI, metrics, probes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from apps.agent_core.api.middleware import CONTENT_SECURITY_POLICY
from tests.support.agent_core import TERMINAL, CoreClient, run_agent_core
from tests.support.lab_server import LabState, run_lab_server

DASHBOARD = "https://dashboard.example.com"
TWO_STEPS = {
    "name": "two_steps",
    "steps": [
        {"id": "a", "tool": "lab.echo", "arguments": {"text": "one"}},
        {"id": "b", "tool": "lab.slow_echo", "arguments": {"text": "two", "seconds": 0.2}},
    ],
}


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CoreClient, LabState]]:
    state_dir = tmp_path_factory.mktemp("core")
    with (
        run_lab_server() as (url, state),
        run_agent_core({"lab": url}, state_dir, cors_origins=(DASHBOARD,), max_body_bytes=64 * 1024) as client,
    ):
        yield client, state


def metric(text: str, name: str, labels: str) -> float:
    """The value of one series in Prometheus text (0 when it is not there yet)."""
    prefix = f"{name}{{{labels}}}"
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


def read_events(core: CoreClient, run_id: str, last_event_id: int | None = None) -> list[dict[str, Any]]:
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    events = []
    with core.http.stream("GET", f"/api/runs/{run_id}/events", headers=headers, timeout=20) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line.removeprefix("data:").strip()))
    return events


def test_events_stream_in_order_until_the_end_and_resume_after_last_event_id(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    run_id = client.start({"workflow": TWO_STEPS})
    events = read_events(client, run_id)
    types = [event["type"] for event in events]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert types.count("step_started") == 2 and types.count("step_finished") == 2
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    resumed = read_events(client, run_id, last_event_id=events[2]["seq"])
    assert resumed == events[3:], "a reconnecting client gets exactly what it missed"


def test_post_api_runs_to_completion_with_steps(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    response = client.http.post("/api", json={"workflow": TWO_STEPS})
    assert response.status_code == 200
    run = response.json()
    assert run["status"] == "succeeded"
    assert [step["id"] for step in run["steps"]] == ["a", "b"]
    assert run["steps"][1]["result"]["text"] == "two"
    assert run["reasoner"] == "offline"


def test_cancel_stops_a_run(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    slow = {"name": "slow", "steps": [{"id": "s", "tool": "lab.slow_echo", "arguments": {"text": "x", "seconds": 3}}]}
    run_id = client.start({"workflow": slow})
    client.wait_for(run_id, {"running"})
    response = client.http.post(f"/api/runs/{run_id}/cancel")
    assert response.status_code == 202
    run = client.wait_for(run_id, TERMINAL, timeout=5)
    assert run["status"] == "cancelled"
    assert client.http.post(f"/api/runs/{run_id}/cancel").status_code == 409


def test_listing_filters_by_status_and_pages(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    ids = [client.start({"workflow": TWO_STEPS}) for _ in range(3)]
    for run_id in ids:
        client.wait_for(run_id, TERMINAL)
    first = client.http.get("/api/runs", params={"limit": 2, "status": "succeeded"}).json()
    assert len(first["runs"]) == 2 and first["next_cursor"]
    assert all(run["status"] == "succeeded" for run in first["runs"])
    assert [run["id"] for run in first["runs"]] == ids[::-1][:2], "newest first"
    second = client.http.get("/api/runs", params={"limit": 2, "status": "succeeded", "cursor": first["next_cursor"]})
    assert ids[0] in [run["id"] for run in second.json()["runs"]]
    assert client.http.get("/api/runs", params={"status": "sideways"}).status_code == 400
    assert client.http.get("/api/runs", params={"cursor": "garbage"}).status_code == 400
    assert client.http.get("/api/runs/doesnotexist").status_code == 404
    missing = client.http.get("/api/runs/doesnotexist/events")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"[1, 2]", 400, "malformed_json"),
        (json.dumps({"task": "x", "colour": "red"}).encode(), 422, "colour"),
        (json.dumps({"task": 5}).encode(), 422, "task"),
        (json.dumps({"task": "x", "workflow": {"name": "w", "steps": []}}).encode(), 422, "exactly one"),
    ],
)
def test_bad_bodies_get_clear_errors(
    core: tuple[CoreClient, LabState], body: bytes, status: int, expected: str
) -> None:
    client, _ = core
    response = client.http.post("/api/runs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert expected in response.text


def test_oversized_body_is_refused_with_413(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    response = client.http.post("/api/runs", json={"task": "x" * 100_000})
    assert response.status_code == 413


def test_cors_allows_listed_origins_only(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = client.http.options("/api/runs", headers={"Origin": DASHBOARD, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == DASHBOARD
    refused = client.http.options("/api/runs", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    simple = client.http.get("/api/runs", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_every_response_carries_the_security_headers_and_is_counted(core: tuple[CoreClient, LabState]) -> None:
    """The middleware's order: the headers and the metrics wrap the body limit and CORS, so their answers too."""
    client, _ = core
    preflight = {"Origin": DASHBOARD, "Access-Control-Request-Method": "POST"}
    before = client.http.get("/metrics").text
    answers = {
        "route": client.http.get("/api/runs"),
        "api error": client.http.get("/api/runs/doesnotexist"),
        "no route": client.http.get("/nothing/here"),
        "probe": client.http.get("/health"),
        "too large (body limit)": client.http.post("/api/runs", json={"task": "x" * 100_000}),
        "preflight (CORS)": client.http.options("/api/runs", headers=preflight),
    }
    for what, response in answers.items():
        assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, what
        assert response.headers.get("x-content-type-options") == "nosniff", what
        assert response.headers.get("referrer-policy") == "no-referrer", what
        assert response.headers.get("x-frame-options") == "DENY", what
    assert answers["too large (body limit)"].status_code == 413
    assert answers["preflight (CORS)"].headers["access-control-allow-origin"] == DASHBOARD
    after = client.http.get("/metrics").text
    too_large = 'method="POST",route="other",status="413"'
    assert (
        metric(after, "agent_core_requests_total", too_large) - metric(before, "agent_core_requests_total", too_large)
        == 1
    )


def test_openapi_document_is_valid_and_covers_every_route(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    document = client.http.get("/api/openapi.json").json()
    validate(document)
    assert set(document["paths"]) >= {
        "/api",
        "/api/runs",
        "/api/runs/{run_id}",
        "/api/runs/{run_id}/events",
        "/api/runs/{run_id}/cancel",
        "/api/runs/{run_id}/approvals",
        "/api/tools",
        "/api/health",
        "/api/workflows/templates",
    }
    start = document["paths"]["/api/runs"]["post"]
    assert start["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("StartRunRequest")
    assert "202" in start["responses"] and "422" in start["responses"]


def test_tools_templates_and_health(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    tools = client.http.get("/api/tools").json()["tools"]
    scale = next(tool for tool in tools if tool["name"] == "scale")
    assert scale["server"] == "lab" and scale["destructive"] is True and scale["read_only"] is False
    templates = client.http.get("/api/workflows/templates").json()["templates"]
    assert {"s3_inventory", "database_report", "cluster_health", "weather_to_store"} <= {t["id"] for t in templates}
    health = client.http.get("/api/health").json()
    assert health["reasoner"] == {"name": "offline", "model": None}
    assert health["servers"][0]["reachable"] is True and health["servers"][0]["latency_ms"] >= 0
    assert client.http.get("/ready").json()["status"] == "ready"


def test_metrics_count_real_work(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    before = client.http.get("/metrics").text
    client.wait_for(client.start({"workflow": TWO_STEPS}), TERMINAL)
    after = client.http.get("/metrics").text
    runs = 'kind="workflow",status="succeeded"'
    assert metric(after, "agent_core_runs_total", runs) - metric(before, "agent_core_runs_total", runs) == 1
    calls = 'outcome="ok",server="lab",tool="echo"'
    assert (
        metric(after, "agent_core_tool_calls_total", calls) - metric(before, "agent_core_tool_calls_total", calls) == 1
    )
    assert 'agent_core_requests_total{method="POST",route="/api/runs",status="202"}' in after
    assert "agent_core_request_duration_seconds_bucket" in after
    assert "agent_core_active_workflows 0.0" in after


def test_unknown_routes_and_methods(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    assert client.http.get("/api/nothing").status_code == 404
    assert client.http.delete("/api/runs").status_code == 405
    assert httpx.get(client.url + "/health").text == "OK"


def test_resuming_after_the_last_event_ends_at_once(core: tuple[CoreClient, LabState]) -> None:
    client, _ = core
    run_id = client.start({"workflow": TWO_STEPS})
    events = read_events(client, run_id)
    assert events[-1]["type"] == "run_finished"
    assert read_events(client, run_id, last_event_id=events[-1]["seq"]) == []


def test_cancelling_a_run_waiting_for_approval_ends_it_cancelled(core: tuple[CoreClient, LabState]) -> None:
    client, state = core
    scale = {
        "name": "scale",
        "steps": [{"id": "s", "tool": "lab.scale", "arguments": {"target": "web", "replicas": 2}}],
    }
    for _ in range(5):  # the race this guards against showed about once in fifteen
        run_id = client.start({"workflow": scale})
        client.wait_for(run_id, {"awaiting_approval"})
        assert client.http.post(f"/api/runs/{run_id}/cancel").status_code == 202
        run = client.wait_for(run_id, TERMINAL)
        assert run["status"] == "cancelled", run["error"]
        assert run["approvals"][0]["status"] == "cancelled"
        assert run["steps"][0]["status"] == "cancelled"
    assert state.calls["scale"] == 0
