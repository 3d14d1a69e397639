"""The MCP kit over real HTTP with the official SDK client, on both protocol revisions."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Annotated, Any

import anyio
import httpx
import pytest
from pydantic import BaseModel, Field

from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.common.settings import McpServerSettings
from apps.common.tools import ToolDef, ToolError
from tests.support.servers import MODES, mcp_client, serve_in_thread


class Echo(BaseModel):
    text: str
    times: int


class Rows(BaseModel):
    rows: list[list[Any]]
    truncated: bool = False


def echo(
    text: Annotated[str, Field(min_length=1, max_length=50, description="What to echo")],
    times: Annotated[int, Field(ge=1, le=3)] = 1,
) -> Echo:
    return Echo(text=text * times, times=times)


def many_rows(count: Annotated[int, Field(ge=1, le=100_000)]) -> Rows:
    return Rows(rows=[[index, "row-" + "x" * 40] for index in range(count)])


def refuse(reason: Annotated[str, Field(max_length=100)]) -> Echo:
    raise ToolError(f"refused: {reason}. Ask for something else.")


def crash() -> Echo:
    raise RuntimeError("password=hunter2 in /internal/path.py")


def block(seconds: Annotated[float, Field(ge=0, le=10)]) -> Echo:
    time.sleep(seconds)  # a blocking call, run in a worker thread
    return Echo(text="done", times=1)


async def stall(seconds: Annotated[float, Field(ge=0, le=10)]) -> Echo:
    await asyncio.sleep(seconds)
    return Echo(text="done", times=1)


SPEC = McpServerSpec(
    name="demo",
    service="demo-mcp-service",
    version="1.0.0",
    instructions="A demo server for the kit's tests.",
    tools=[
        ToolDef(echo, "Repeat a text.", read_only=True),
        ToolDef(many_rows, "Return many rows.", read_only=True),
        ToolDef(refuse, "Always refuses.", read_only=True),
        ToolDef(crash, "Always crashes.", read_only=False, destructive=True),
        ToolDef(block, "Blocks a thread.", read_only=True, timeout_seconds=0.5),
        ToolDef(stall, "Sleeps on the loop.", read_only=True, timeout_seconds=0.5),
    ],
)
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    settings = McpServerSettings(max_result_bytes=20_000, max_body_bytes=64 * 1024)
    with serve_in_thread(create_mcp_app(SPEC, settings)) as url:
        yield url


def run(coro_fn: Any, *args: Any) -> Any:
    return anyio.run(coro_fn, *args)


@pytest.mark.parametrize("mode", MODES)
def test_lists_tools_with_schemas_and_annotations(demo_url: str, mode: str) -> None:
    async def scenario() -> Any:
        async with mcp_client(demo_url + "/mcp", mode) as client:
            return client.protocol_version, (await client.list_tools()).tools

    version, tools = run(scenario)
    assert version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    by_name = {tool.name: tool for tool in tools}
    assert set(by_name) == {"echo", "many_rows", "refuse", "crash", "block", "stall"}
    assert by_name["echo"].input_schema["properties"]["text"]["maxLength"] == 50
    assert by_name["echo"].output_schema["properties"]["times"]["type"] == "integer"
    assert by_name["echo"].annotations.read_only_hint is True
    assert by_name["crash"].annotations.destructive_hint is True
    assert by_name["crash"].annotations.read_only_hint is False


@pytest.mark.parametrize("mode", MODES)
def test_calls_a_tool_and_returns_structured_content(demo_url: str, mode: str) -> None:
    async def scenario() -> Any:
        async with mcp_client(demo_url + "/mcp", mode) as client:
            return await client.call_tool("echo", {"text": "ab", "times": 2})

    result = run(scenario)
    assert result.is_error is False
    assert result.structured_content == {"text": "abab", "times": 2}


@pytest.mark.parametrize("mode", MODES)
def test_bad_arguments_become_an_error_result_listing_each_problem(demo_url: str, mode: str) -> None:
    async def scenario() -> Any:
        async with mcp_client(demo_url + "/mcp", mode) as client:
            return await client.call_tool("echo", {"text": "", "times": 9, "colour": "red"})

    result = run(scenario)
    assert result.is_error is True
    text = result.content[0].text
    assert "unknown argument 'colour'" in text
    assert "times: 9 is greater than the maximum of 3" in text
    assert "text: '' should be non-empty" in text


def test_unknown_tool_names_the_tools_that_exist(demo_url: str) -> None:
    async def scenario() -> Any:
        async with mcp_client(demo_url + "/mcp", "2026-07-28") as client:
            return await client.call_tool("delete_everything", {})

    result = run(scenario)
    assert result.is_error is True
    assert "Unknown tool 'delete_everything'" in result.content[0].text
    assert "echo" in result.content[0].text


def test_anticipated_failure_keeps_its_message_and_a_crash_leaks_nothing(demo_url: str) -> None:
    async def scenario() -> Any:
        async with mcp_client(demo_url + "/mcp", "legacy") as client:
            return await client.call_tool("refuse", {"reason": "no"}), await client.call_tool("crash", {})

    refused, crashed = run(scenario)
    assert refused.is_error and refused.content[0].text.endswith("refused: no. Ask for something else.")
    assert crashed.is_error
    assert "hunter2" not in crashed.content[0].text and "Traceback" not in crashed.content[0].text


@pytest.mark.parametrize("tool", ["block", "stall"])
def test_a_tool_past_its_timeout_returns_an_error_naming_the_timeout(demo_url: str, tool: str) -> None:
    async def scenario() -> Any:
        async with mcp_client(demo_url + "/mcp", "2026-07-28") as client:
            started = time.monotonic()
            result = await client.call_tool(tool, {"seconds": 3})
            return result, time.monotonic() - started

    result, elapsed = run(scenario)
    assert result.is_error is True
    assert f"{tool} timed out after 0.5 s" in result.content[0].text
    assert elapsed < 2.5, "the caller must not wait for the abandoned work"


def test_a_result_over_the_cap_is_cut_to_a_valid_smaller_one(demo_url: str) -> None:
    async def scenario() -> Any:
        async with mcp_client(demo_url + "/mcp", "2026-07-28") as client:
            return await client.call_tool("many_rows", {"count": 5000})

    result = run(scenario)
    assert result.is_error is False
    rows = result.structured_content["rows"]
    assert 0 < len(rows) < 5000
    assert rows[0] == [0, "row-" + "x" * 40], "the head of the result is kept intact"
    assert result.structured_content["truncated"] is True
    note = result.content[-1].text
    assert f"{5000 - len(rows)} of 5000 items of rows left out" in note
    assert "Narrow the call" in note
    assert len(json.dumps(result.structured_content)) < 20_000


def test_malformed_json_is_a_parse_error_on_both_revisions(demo_url: str) -> None:
    for extra in ({}, {"mcp-protocol-version": "2026-07-28"}):
        response = httpx.post(demo_url + "/mcp", content=b'{"jsonrpc": "2.0", "id": 1,', headers=ACCEPT | extra)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == -32700


def test_body_over_the_limit_is_refused_with_413(demo_url: str) -> None:
    payload = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": "x" * 100_000}}
    response = httpx.post(demo_url + "/mcp", json=payload, headers=ACCEPT)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("demo-mcp-service", 200),
        ("demo-mcp-service.agentic.svc.cluster.local:80", 200),
        ("127.0.0.1:9", 200),
        ("evil.example", 421),
    ],
)
def test_host_allow_list_accepts_service_names_and_refuses_others(demo_url: str, host: str, expected: int) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = httpx.post(demo_url + "/mcp", json=body, headers=ACCEPT | {"host": host})
    assert response.status_code == expected


def test_foreign_origin_is_refused_with_403(demo_url: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = httpx.post(demo_url + "/mcp", json=body, headers=ACCEPT | {"origin": "https://evil.example"})
    assert response.status_code == 403


def test_probes_and_metrics_count_real_calls(demo_url: str) -> None:
    assert httpx.get(demo_url + "/health").text == "OK"
    ready = httpx.get(demo_url + "/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"

    def counter(text: str, outcome: str) -> float:
        prefix = f'mcp_tool_calls_total{{outcome="{outcome}",server="demo",tool="echo"}}'
        lines = [line for line in text.splitlines() if line.startswith(prefix)]
        return float(lines[0].split()[-1]) if lines else 0.0

    before = httpx.get(demo_url + "/metrics").text

    async def scenario() -> None:
        async with mcp_client(demo_url + "/mcp", "2026-07-28") as client:
            await client.call_tool("echo", {"text": "a"})
            await client.call_tool("echo", {"text": "a"})
            await client.call_tool("echo", {"text": "a", "times": 99})

    run(scenario)
    after = httpx.get(demo_url + "/metrics").text
    assert counter(after, "ok") - counter(before, "ok") == 2
    assert counter(after, "invalid_arguments") - counter(before, "invalid_arguments") == 1
    assert 'mcp_tool_call_duration_seconds_count{server="demo",tool="echo"}' in after
    assert 'mcp_http_requests_total{method="POST",path="/mcp",status="200"}' in after


def test_bearer_token_guards_mcp_but_not_the_probes(tmp_path: Any) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret-token\n")
    settings = McpServerSettings(mcp_token_file=secret)
    with serve_in_thread(create_mcp_app(SPEC, settings)) as url:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        assert httpx.post(url + "/mcp", json=body, headers=ACCEPT).status_code == 401
        wrong = ACCEPT | {"authorization": "Bearer s3cret-tokeX"}
        assert httpx.post(url + "/mcp", json=body, headers=wrong).status_code == 401
        assert httpx.get(url + "/health").status_code == 200

        async def scenario() -> Any:
            async with mcp_client(url + "/mcp", "legacy", token="s3cret-token") as client:
                return await client.call_tool("echo", {"text": "hi"})

        assert run(scenario).structured_content == {"text": "hi", "times": 1}


def test_readiness_reports_a_failing_check_with_503() -> None:
    async def broken() -> None:
        raise RuntimeError("database file /data/x.db is missing")

    spec = McpServerSpec(
        name="demo", service="demo", version="1", instructions="", tools=SPEC.tools, readiness={"database": broken}
    )
    with serve_in_thread(create_mcp_app(spec, McpServerSettings())) as url:
        response = httpx.get(url + "/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "database file /data/x.db is missing"}


def test_one_json_log_line_per_tool_call(demo_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="apps.tool_calls")

    async def scenario() -> None:
        async with mcp_client(demo_url + "/mcp", "2026-07-28") as client:
            await client.call_tool("refuse", {"reason": "x"})

    run(scenario)
    lines = [record for record in caplog.records if record.name == "apps.tool_calls"]
    assert len(lines) == 1
    assert (lines[0].server, lines[0].tool, lines[0].outcome) == ("demo", "refuse", "error")  # type: ignore[attr-defined]
    assert lines[0].duration_ms >= 0  # type: ignore[attr-defined]
