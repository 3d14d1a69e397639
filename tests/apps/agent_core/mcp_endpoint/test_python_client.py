"""The agent core's MCP endpoint (``/api/mcp``) driven by the official Python SDK client, on both revisions.

A real agent core over HTTP on 127.0.0.1 with API keys, in front of the lab MCP server (read-only and
destructive tools). Every call must be a run (``trigger.kind == "mcp"``) and a destructive one must wait
for a person's decision, made here through the API as the dashboard or CLI would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp_types import CallToolResult, ResourceLink, TextContent, TextResourceContents

from apps.agent_core.mcp_endpoint.catalog import MAX_TASK_CHARS
from apps.mcp_database.server import create_app as database_app
from apps.mcp_database.settings import DatabaseSettings
from tests.support.agent_core import CoreClient, Keys, make_keys, run_agent_core
from tests.support.lab_server import LabState, run_lab_server
from tests.support.servers import MODES, mcp_client, serve_in_thread

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
INSPECTOR_ORIGIN = "http://localhost:6274"
"""Where the MCP Inspector's web UI runs: a browser client from another origin."""
APPROVAL_WAIT_SECONDS = 60.0
"""Generous: the test decides within a second or two; the limit only bounds a broken endpoint."""


class Platform:
    def __init__(self, core: CoreClient, keys: Keys, lab: LabState) -> None:
        self.core = core
        self.keys = keys
        self.lab = lab
        self.url = core.url + "/api/mcp"


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[str, LabState]]:
    with run_lab_server() as served:
        yield served


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The platform's own database server with its sample data: the database_report template's tools."""
    path = tmp_path_factory.mktemp("database") / "sample.db"
    with serve_in_thread(database_app(DatabaseSettings(database_path=path, query_workers=1))) as url:
        yield url + "/mcp"


@pytest.fixture(scope="module")
def platform(lab: tuple[str, LabState], database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    keys = make_keys()
    url, state = lab
    with run_agent_core(
        {"lab": url, "database": database},
        tmp_path_factory.mktemp("mcp-endpoint"),
        api_keys=keys.entries_json,
        mcp_approval_wait_seconds=APPROVAL_WAIT_SECONDS,
        dashboard_url="https://agentic.example.com",
        cors_origins=INSPECTOR_ORIGIN,
    ) as core:
        yield Platform(core, keys, state)


def _text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def _run_id(result: CallToolResult) -> str:
    links = [block.uri for block in result.content if isinstance(block, ResourceLink)]
    assert links and links[0].startswith("run://"), result
    return links[0].removeprefix("run://")


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _mcp_runs(platform: Platform) -> list[dict[str, Any]]:
    response = platform.core.http.get("/api/runs?trigger=mcp&limit=200", headers=_auth(platform.keys.viewer))
    assert response.status_code == 200, response.text
    return list(response.json()["runs"])


def _decide_when_asked(platform: Platform, decision: str, reason: str | None = None) -> threading.Thread:
    """Decide the next approval an MCP run asks for, through the API, as a person at the dashboard would."""
    seen = {run["id"] for run in _mcp_runs(platform)}

    def decide() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = [r for r in _mcp_runs(platform) if r["id"] not in seen and r["status"] == "awaiting_approval"]
            if waiting:
                run = platform.core.run(waiting[0]["id"], platform.keys.approver)
                (approval,) = [a for a in run["approvals"] if a["status"] == "pending"]
                body = {"decision": decision, "approval_id": approval["id"], "reason": reason}
                body["arguments_hash"] = approval["arguments_hash"]
                response = platform.core.http.post(
                    f"/api/runs/{run['id']}/approvals", json=body, headers=_auth(platform.keys.approver)
                )
                assert response.status_code == 200, response.text
                return
            time.sleep(0.1)

    thread = threading.Thread(target=decide, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("mode", MODES)
def test_lists_tools_by_role(platform: Platform, mode: str) -> None:
    async def names(key: str) -> dict[str, Any]:
        async with mcp_client(platform.url, mode, token=key) as client:
            return {tool.name: tool for tool in (await client.list_tools()).tools}

    operator = anyio.run(names, platform.keys.operator)
    viewer = anyio.run(names, platform.keys.viewer)
    assert {"lab__echo", "lab__scale", "lab__apply", "run_task", "template__database_report"} <= operator.keys()
    # Templates whose servers are not configured here would only fail: they are not offered.
    assert "template__weather_to_store" not in operator
    echo = operator["lab__echo"]
    assert echo.description == "Echo a text back."
    assert echo.input_schema["properties"]["text"]["type"] == "string"
    assert echo.annotations is not None and echo.annotations.read_only_hint is True
    assert operator["lab__apply"].annotations.destructive_hint is True
    assert operator["template__database_report"].input_schema["type"] == "object"
    # A viewer sees what reads and nothing that starts arbitrary runs or changes anything.
    assert "lab__echo" in viewer
    assert "database__get_schema" in viewer
    assert not {"lab__scale", "lab__apply", "run_task", "template__database_report"} & viewer.keys()


@pytest.mark.parametrize("mode", MODES)
def test_read_only_call_is_a_run(platform: Platform, mode: str) -> None:
    text = f"hello-{mode}"

    async def call() -> CallToolResult:
        async with mcp_client(platform.url, mode, token=platform.keys.operator) as client:
            await client.list_tools()
            return await client.call_tool("lab__echo", {"text": text})

    result = anyio.run(call)
    assert not result.is_error, result
    assert result.structured_content == {"text": text, "items": [text, text.upper()]}
    run = platform.core.run(_run_id(result), platform.keys.viewer)
    assert result.meta is not None and result.meta["agentic-workflows/run"] == run["id"]
    assert run["status"] == "succeeded"
    assert run["trigger"]["kind"] == "mcp"
    assert run["owner"] == "operator-user"
    assert [(s["server"], s["tool"], s["arguments"]) for s in run["steps"]] == [("lab", "echo", {"text": text})]


def test_arguments_are_never_evaluated(platform: Platform) -> None:
    """A client's ``{{ … }}`` is text for the tool, never an expression over the run."""
    text = "{{ inputs.arg_0 }} and {{ steps }}"

    async def call() -> CallToolResult:
        async with mcp_client(platform.url, "2026-07-28", token=platform.keys.operator) as client:
            return await client.call_tool("lab__echo", {"text": text})

    result = anyio.run(call)
    assert not result.is_error, result
    assert result.structured_content == {"text": text, "items": [text, text.upper()]}


def test_failed_call_is_an_error_result(platform: Platform) -> None:
    async def call() -> CallToolResult:
        async with mcp_client(platform.url, "2026-07-28", token=platform.keys.operator) as client:
            return await client.call_tool("lab__always_fails", {"reason": "on purpose"})

    result = anyio.run(call)
    assert result.is_error
    assert "always fails: on purpose" in _text(result)


@pytest.mark.parametrize("mode", MODES)
def test_template_and_run_task_answer_with_their_run(platform: Platform, mode: str) -> None:
    async def calls() -> tuple[CallToolResult, CallToolResult]:
        async with mcp_client(platform.url, mode, token=platform.keys.operator) as client:
            template = await client.call_tool("template__database_report", {})
            task = await client.call_tool("run_task", {"task": "echo hello from the task"})
            return template, task

    template, task = anyio.run(calls)
    assert not template.is_error, template
    template_run = platform.core.run(_run_id(template), platform.keys.viewer)
    assert template_run["status"] == "succeeded" and template_run["trigger"]["kind"] == "mcp"
    assert len(template_run["steps"]) == 5 and template_run["final_answer"]
    assert template_run["final_answer"] in _text(template)
    assert template.structured_content == {
        "run_id": template_run["id"],
        "status": "succeeded",
        "final_answer": template_run["final_answer"],
    }
    # The offline reasoner answers or says why it cannot: either way the answer is the run's, and names it.
    task_run = platform.core.run(_run_id(task), platform.keys.viewer)
    assert task_run["trigger"]["kind"] == "mcp" and task_run["kind"] == "task"
    assert task_run["status"] in ("succeeded", "failed")
    expected = task_run["final_answer"] if task_run["status"] == "succeeded" else task_run["error"]
    assert task.is_error == (task_run["status"] == "failed") and expected in _text(task)


def test_an_oversized_task_is_refused_before_any_run(platform: Platform) -> None:
    async def call() -> CallToolResult:
        async with mcp_client(platform.url, MODES[0], token=platform.keys.operator) as client:
            return await client.call_tool("run_task", {"task": "x" * (MAX_TASK_CHARS + 1)})

    before = {run["id"] for run in _mcp_runs(platform)}
    result = anyio.run(call)
    assert result.is_error and f"longer than {MAX_TASK_CHARS} characters" in _text(result), result
    assert {run["id"] for run in _mcp_runs(platform)} == before


@pytest.mark.parametrize("mode", MODES)
def test_reads_runs_as_resources(platform: Platform, mode: str) -> None:
    async def read() -> tuple[list[str], str, CallToolResult]:
        async with mcp_client(platform.url, mode, token=platform.keys.viewer) as client:
            result = await client.call_tool("lab__echo", {"text": "resource"})
            listed = [str(resource.uri) for resource in (await client.list_resources()).resources]
            contents = (await client.read_resource(f"run://{_run_id(result)}")).contents
            assert isinstance(contents[0], TextResourceContents)
            return listed, contents[0].text, result

    listed, text, result = anyio.run(read)
    run_id = _run_id(result)
    assert f"run://{run_id}" in listed
    view = json.loads(text)
    assert view["id"] == run_id and view["steps"][0]["result"]["text"] == "resource"


@pytest.mark.parametrize("mode", MODES)
def test_destructive_call_waits_for_approval(platform: Platform, mode: str) -> None:
    change = f"approved-{mode}"
    reports: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append(message or "")

    async def call() -> CallToolResult:
        async with mcp_client(platform.url, mode, token=platform.keys.operator) as client:
            return await client.call_tool("lab__apply", {"change": change}, progress_callback=on_progress)

    decider = _decide_when_asked(platform, "approve")
    result = anyio.run(call)
    decider.join(timeout=30)
    assert not result.is_error, result
    assert result.structured_content == {"text": change, "items": []}
    assert platform.lab.runs[("apply", change)] == 1
    run = platform.core.run(_run_id(result), platform.keys.viewer)
    assert run["approvals"][0]["status"] == "approved" and run["approvals"][0]["decided_by"] == "approver-user"
    assert reports and "waits for approval" in reports[0]


def test_rejected_call_is_an_error_with_the_reason(platform: Platform) -> None:
    change = "rejected-change"

    async def call() -> CallToolResult:
        async with mcp_client(platform.url, "legacy", token=platform.keys.operator) as client:
            return await client.call_tool("lab__apply", {"change": change})

    decider = _decide_when_asked(platform, "reject", reason="not during the freeze")
    result = anyio.run(call)
    decider.join(timeout=30)
    assert result.is_error
    assert "rejected by approver-user: not during the freeze" in _text(result)
    assert platform.lab.runs[("apply", change)] == 0


@pytest.mark.parametrize("mode", MODES)
def test_viewer_cannot_call_a_destructive_tool(platform: Platform, mode: str) -> None:
    async def call() -> CallToolResult:
        async with mcp_client(platform.url, mode, token=platform.keys.viewer) as client:
            return await client.call_tool("lab__apply", {"change": "by a viewer"})

    before = len(_mcp_runs(platform))
    result = anyio.run(call)
    assert result.is_error and "operator role" in _text(result)
    assert platform.lab.runs[("apply", "by a viewer")] == 0
    assert len(_mcp_runs(platform)) == before


def test_without_a_key_401(platform: Platform) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    response = httpx.post(platform.url, json=body, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    trigger_only = httpx.post(platform.url, json=body, headers={**headers, **_auth(platform.keys.trigger)}, timeout=10)
    assert trigger_only.status_code == 403


def test_browser_preflight_and_body_limit(platform: Platform) -> None:
    preflight = platform.core.http.options(
        "/api/mcp",
        headers={
            "Origin": INSPECTOR_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == INSPECTOR_ORIGIN
    # The API's body limit holds here too, with its JSON error, before the caller's key is even looked at.
    oversized = platform.core.http.post("/api/mcp", content=b"x" * 2_000_000, headers=_auth(platform.keys.operator))
    assert oversized.status_code == 413 and oversized.json()["error"] == "too_large"


def test_approval_timeout_says_where_the_run_waits(lab: tuple[str, LabState], tmp_path: Path) -> None:
    keys = make_keys()
    with run_agent_core({"lab": lab[0]}, tmp_path, api_keys=keys.entries_json, mcp_approval_wait_seconds=0.5) as core:

        async def call() -> CallToolResult:
            async with mcp_client(core.url + "/api/mcp", "2026-07-28", token=keys.operator) as client:
                return await client.call_tool("lab__apply", {"change": "never decided"})

        result = anyio.run(call)
        assert result.is_error
        run_id = _run_id(result)
        text = _text(result)
        assert f"run {run_id} waits for a person to approve lab.apply" in text
        assert f"cli approve {run_id}" in text
        assert core.run(run_id, keys.viewer)["status"] == "awaiting_approval"
