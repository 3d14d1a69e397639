"""Malformed requests get a 4xx naming the problem, never a 500 or a dropped connection: real processes, real HTTP.

The shapes (``tests.support.hostile_inputs``): JSON nested thousands of levels deep in a run's ``inputs``,
in an approval's ``arguments`` and in a tool call's ``arguments`` (Python's parser recurses per level and
raised ``RecursionError``: a 500 with a traceback), a 5,000-digit number, and ``Last-Event-ID`` values that
are not an event number the store can hold (``99999999999999999999999999`` overflowed SQLite's integer and
the connection dropped). After each, the service still answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apps.agent_core.api.schemas import ErrorBody
from tests.reliability.conftest import TOKEN
from tests.support import jsonrpc as rpc
from tests.support.hostile_inputs import DEEP_JSON_DEPTHS, HOSTILE_EVENT_IDS, nested_json
from tests.support.mcp_fleet import MODULES, Fleet
from tests.support.processes import RunningService, run_service

pytestmark = pytest.mark.slow

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def core_process(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The agent core as ``python -m apps.agent_core`` runs it: no API keys, on loopback, calling the fleet."""
    state: Path = tmp_path_factory.mktemp("hostile-json")
    env = {
        "AGENTIC_MCP_SERVERS": ",".join(f"{name}={fleet.mcp_url(name)}" for name in MODULES),
        "AGENTIC_MCP_TOKEN": TOKEN,
        "AGENTIC_STATE": f"sqlite:///{state}/runs.db",
        "AGENTIC_REASONER": "offline",
    }
    with run_service("apps.agent_core", env, log_path=state / "agent-core.log") as running:
        yield running


@pytest.fixture(scope="module")
def api(core_process: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=core_process.url, timeout=30) as client:
        yield client


def assert_refused(response: httpx.Response, status: int, *phrases: str) -> None:
    assert response.status_code == status, response.text[:500]
    body = ErrorBody.model_validate(response.json())  # the API's documented error shape, not a traceback
    for phrase in phrases:
        assert phrase in body.message, body.message
    assert "Traceback" not in response.text


@pytest.mark.parametrize("depth", DEEP_JSON_DEPTHS)
def test_deeply_nested_inputs_are_a_400_naming_the_limit(api: httpx.Client, depth: int) -> None:
    body = '{"task": "What is the weather in London?", "inputs": {"deep": ' + nested_json(depth) + "}}"
    before = api.get("/api/runs").json()["runs"]
    assert_refused(api.post("/api/runs", content=body, headers=JSON), 400, "more than 64 levels deep")
    assert api.get("/api/runs").json()["runs"] == before, "no run was started"
    assert api.get("/health").status_code == 200


@pytest.mark.parametrize("depth", DEEP_JSON_DEPTHS)
def test_deeply_nested_approval_arguments_are_a_400(api: httpx.Client, depth: int) -> None:
    body = '{"decision": "approve", "arguments": {"value": ' + nested_json(depth) + "}}"
    response = api.post("/api/runs/some-run/approvals", content=body, headers=JSON)
    assert_refused(response, 400, "more than 64 levels deep")


def test_nesting_within_the_limit_is_read_as_usual(api: httpx.Client) -> None:
    # 63 levels with the body's own three: the document is read, and checked on its merits.
    body = '{"workflow": {"name": "x", "inputs": {"deep": ' + nested_json(60) + '}, "steps": []}}'
    response = api.post("/api/workflows/validate", content=body, headers=JSON)
    assert response.status_code == 200, response.text


def test_a_number_too_long_to_read_is_a_400(api: httpx.Client) -> None:
    body = '{"task": "hello", "inputs": {"n": ' + "9" * 5000 + "}}"
    assert_refused(api.post("/api/runs", content=body, headers=JSON), 400, "not valid JSON")


@pytest.fixture(scope="module")
def finished_run(api: httpx.Client) -> str:
    response = api.post("/api/runs", json={"task": "What is the weather in London?"})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize("value", HOSTILE_EVENT_IDS)
def test_a_last_event_id_that_is_not_an_event_number_is_a_400(api: httpx.Client, finished_run: str, value: str) -> None:
    path = f"/api/runs/{finished_run}/events"
    if value.isascii():
        assert_refused(api.get(path, headers={"last-event-id": value}), 400, "must be an event number")
    assert_refused(api.get(path, params={"after": value}), 400, "must be an event number")
    # The same stream with a good number still opens and ends with the run.
    with api.stream("GET", path, headers={"last-event-id": "0"}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")


@pytest.mark.parametrize("server", sorted(MODULES))
@pytest.mark.parametrize("depth", [1_000, 5_000])
def test_mcp_servers_answer_deep_tool_arguments_with_a_json_rpc_error(
    fleet: Fleet, http: httpx.Client, server: str, depth: int
) -> None:
    tool = {"aws": "list_s3_buckets", "database": "execute_query", "custom": "store_data", "kubernetes": "list_pods"}
    body = (
        '{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "'
        + tool[server]
        + '", "arguments": {"value": '
        + nested_json(depth)
        + "}}}"
    ).encode()
    answer = rpc.post(http, fleet.mcp_url(server), body, token=TOKEN)
    assert answer.status < 500, answer.describe()
    message = answer.json()
    # Refused as a whole request (parse error or invalid request/params) or as a tool error: never executed.
    if "error" in message:
        assert message["error"]["code"] in (rpc.PARSE_ERROR, -32600, -32602), answer.describe()
    else:
        assert message["result"]["isError"] is True, answer.describe()
    assert http.get(fleet.services[server].url + "/health").status_code == 200
