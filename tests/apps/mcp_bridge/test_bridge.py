"""The bridge in front of server-everything over stdio, started as its own process on 127.0.0.1 exactly as the
container runs it, and reached with the agent core's own HTTP client (``McpServerClient``) as two replicas
would: tools and annotations passed through, calls, the kit's token, body limit, probes and metrics, the
child's environment, a child killed mid-call, and a child that cannot start."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp_types import CallToolResult, TextContent
from pydantic import SecretStr

from apps.agent_core.gateway.breaker import CircuitBreaker
from apps.agent_core.gateway.errors import ServerRejected
from apps.agent_core.gateway.mcp_server_client import McpServerClient
from apps.agent_core.gateway.stdio_client import StdioServerClient
from apps.common.settings import ConfigurationError
from apps.mcp_bridge.server import create_app
from apps.mcp_bridge.settings import BridgeSettings
from tests.support.net import free_port
from tests.support.servers import serve_in_thread
from tests.support.third_party_mcp import EVERYTHING_ENTRY, INSTALL_HINT

ROOT = Path(__file__).resolve().parents[3]
COUNTING_SERVER = ROOT / "tests" / "apps" / "agent_core" / "gateway" / "stdio_counting_server.py"
TOKEN = "bridge-test-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}
SCENARIO_SECONDS = 60.0


@dataclass
class Bridge:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.startswith("{")]

    def child_pids(self) -> list[int]:
        return [line["pid"] for line in self.log_lines() if line["message"].startswith("started stdio server")]


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    """``python -m apps.mcp_bridge`` with flags, as a pod runs it, in front of server-everything over stdio."""
    assert EVERYTHING_ENTRY.exists(), INSTALL_HINT
    port = free_port()
    log_path = tmp_path_factory.mktemp("bridge") / "bridge.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AGENTIC_MCP_TOKEN": TOKEN,
        "AGENTIC_MAX_BODY_BYTES": "65536",
        "AGENTIC_BRIDGE_PASS_ENV": "EVERYTHING_SETTING",
        "EVERYTHING_SETTING": "passed-on",
        "AWS_SECRET_ACCESS_KEY": "not-for-the-child",
    }
    argv = [sys.executable, "-m", "apps.mcp_bridge", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--name", "everything", "--command", "node", "--", str(EVERYTHING_ENTRY), "stdio"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"the bridge exited: {log_path.read_text()}"
            try:
                if httpx.get(url + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the bridge was not ready within 30 s"
            time.sleep(0.1)
        yield Bridge(url, process, log_path)
    finally:
        process.terminate()
        process.wait(timeout=20)


def text(result: CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text


def agent_core_client(bridge: Bridge) -> McpServerClient:
    return McpServerClient("everything", bridge.url + "/mcp", headers=AUTH, breaker=CircuitBreaker())


def run(scenario: Any) -> Any:
    async def bounded() -> Any:
        with anyio.fail_after(SCENARIO_SECONDS):
            return await scenario()

    return anyio.run(bounded)


def test_tools_and_their_annotations_pass_through_unchanged(bridge: Bridge) -> None:
    async def scenario() -> tuple[list[Any], list[Any], str | None]:
        client = agent_core_client(bridge)
        direct = StdioServerClient(
            "everything", command="node", args=[str(EVERYTHING_ENTRY), "stdio"], env={}, breaker=CircuitBreaker()
        )
        try:
            bridged = await client.list_tools(timeout=20)
            own = await direct.list_tools(timeout=30)
        finally:
            await client.aclose()
            await direct.aclose()
        return bridged, own, client.negotiated.protocol_version if client.negotiated else None

    bridged, own, revision = run(scenario)
    assert [t.model_dump() for t in bridged] == [t.model_dump() for t in own]
    echo = next(tool for tool in bridged if tool.name == "echo")
    assert echo.read_only and echo.idempotent and not echo.open_world
    assert revision == "2026-07-28", "the bridge is one of our servers: stateless, one request per call"


def test_two_agent_core_replicas_share_one_child(bridge: Bridge) -> None:
    async def scenario() -> list[str]:
        replicas = [agent_core_client(bridge), agent_core_client(bridge)]
        try:
            calls = [
                replica.call_tool("echo", {"message": f"r{index}-{n}"}, timeout=20)
                for index, replica in enumerate(replicas)
                for n in range(10)
            ]
            return [text(called.result) for called in await asyncio.gather(*calls)]
        finally:
            for replica in replicas:
                await replica.aclose()

    pids_before = bridge.child_pids()
    texts = run(scenario)
    assert texts == [f"Echo: r{index}-{n}" for index in range(2) for n in range(10)]
    assert bridge.child_pids() == pids_before and len(pids_before) == 1, "one child for every caller"
    metrics = httpx.get(bridge.url + "/metrics").text
    assert re.search(r'mcp_tool_calls_total\{outcome="ok",server="everything",tool="echo"\} ([0-9.]+)', metrics)


def test_the_child_sees_only_the_variables_the_bridge_passes_on(bridge: Bridge) -> None:
    async def scenario() -> str:
        client = agent_core_client(bridge)
        try:
            return text((await client.call_tool("get-env", {}, timeout=20)).result)
        finally:
            await client.aclose()

    seen = json.loads(run(scenario))
    assert seen["EVERYTHING_SETTING"] == "passed-on"
    assert "AGENTIC_MCP_TOKEN" not in seen and "AWS_SECRET_ACCESS_KEY" not in seen


def test_the_kits_token_body_limit_and_probes_apply(bridge: Bridge) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    assert httpx.post(bridge.url + "/mcp", json=ping, headers=headers).status_code == 401
    arguments = {"message": "x" * 70_000}  # over AGENTIC_MAX_BODY_BYTES (65536)
    huge = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": arguments}}
    assert httpx.post(bridge.url + "/mcp", json=huge, headers={**headers, **AUTH}).status_code == 413
    assert httpx.get(bridge.url + "/health").text == "OK"
    assert httpx.get(bridge.url + "/ready").json() == {"status": "ready", "checks": {"stdio_server": "ok"}}


def test_a_read_only_call_cut_off_by_the_childs_death_is_sent_again_to_the_restarted_child(bridge: Bridge) -> None:
    async def scenario() -> tuple[str, int]:
        client = agent_core_client(bridge)
        (pid,) = bridge.child_pids()[-1:]

        async def kill_soon() -> None:
            await anyio.sleep(1.0)
            os.kill(pid, signal.SIGKILL)

        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(kill_soon)
                # server-everything annotates it read-only: resending it is safe, so the bridge does.
                called = await client.call_tool(
                    "trigger-long-running-operation", {"duration": 3, "steps": 1}, timeout=30
                )
        finally:
            await client.aclose()
        return text(called.result), pid

    answer, killed = run(scenario)
    assert "Long running operation completed" in answer
    assert bridge.child_pids()[-1] != killed


def test_a_call_cut_off_by_the_childs_death_fails_by_name_and_is_not_sent_again(tmp_path: Path) -> None:
    call_log = tmp_path / "calls.txt"
    settings = BridgeSettings(
        mcp_token=SecretStr(TOKEN),
        bridge_name="counting",
        bridge_command=sys.executable,
        bridge_args=json.dumps([str(COUNTING_SERVER), str(call_log)]),
    )
    app = create_app(settings, environ={})

    async def scenario(url: str) -> tuple[str, str]:
        client = McpServerClient("counting", url + "/mcp", headers=AUTH, breaker=CircuitBreaker())
        stdio: StdioServerClient = app.state.stdio_client

        async def kill_once_called() -> None:
            with anyio.fail_after(20):
                while not call_log.exists():
                    await anyio.sleep(0.02)
            assert stdio.pid is not None
            os.kill(stdio.pid, signal.SIGKILL)

        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(kill_once_called)
                with pytest.raises(ServerRejected) as failed:
                    # Not annotated, so destructive by MCP's defaults: neither the bridge nor the client resends it.
                    await client.call_tool("slow_write", {"label": "once", "seconds": 20}, timeout=30)
            again = await client.call_tool("slow_write", {"label": "next", "seconds": 0}, timeout=30)
        finally:
            await client.aclose()
        return str(failed.value), text(again.result)

    with serve_in_thread(app, ready_path="/ready") as url:
        message, again = run(lambda: scenario(url))
    assert message == (
        "counting MCP server rejected the request: JSON-RPC error -32603: stdio server counting exited with "
        "status -9 while tools/call was in flight; the call may or may not have been applied"
    )
    assert again == "wrote next"
    assert [line.split()[0] for line in call_log.read_text().splitlines()] == ["once", "next"]


def test_a_call_costs_the_child_one_request_and_no_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = BridgeSettings(
        mcp_token=SecretStr(TOKEN),
        bridge_name="counting",
        bridge_command=sys.executable,
        bridge_args=json.dumps([str(COUNTING_SERVER), str(tmp_path / "calls.txt")]),
    )
    app = create_app(settings, environ={})
    stdio: StdioServerClient = app.state.stdio_client
    listings: list[float] = []
    list_mcp_tools = stdio.list_mcp_tools

    async def counted(*, timeout: float) -> Any:
        listings.append(timeout)
        return await list_mcp_tools(timeout=timeout)

    monkeypatch.setattr(stdio, "list_mcp_tools", counted)

    async def scenario(url: str) -> int:
        client = McpServerClient("counting", url + "/mcp", headers=AUTH, breaker=CircuitBreaker())
        try:
            await client.list_tools(timeout=20)
            before = len(listings)
            for index in range(5):
                await client.call_tool("slow_write", {"label": f"c{index}", "seconds": 0}, timeout=20)
            return len(listings) - before
        finally:
            await client.aclose()

    with serve_in_thread(app, ready_path="/ready") as url:
        # A 2026-07-28 call carries its arguments for the SDK's Mcp-Param-* check, which reads the cached schema.
        assert run(lambda: scenario(url)) == 0


def test_a_child_that_cannot_start_fails_readiness_then_liveness_once_given_up(tmp_path: Path) -> None:
    settings = BridgeSettings(
        bridge_name="broken",
        bridge_command="/bin/sh",
        bridge_args=json.dumps(["-c", "echo 'no config' >&2; exit 3"]),
        bridge_max_restarts=0,
        bridge_start_timeout_seconds=5,
    )
    # Not ready, and soon not live either: served without waiting for either.
    with serve_in_thread(create_app(settings, environ={}), ready_path="/metrics") as url:
        ready = httpx.get(url + "/ready", timeout=10)
        health = httpx.get(url + "/health", timeout=10)
    assert ready.status_code == 503
    assert health.status_code == 503
    assert health.text == (
        "stdio server broken is stopped after 0 restarts within 300 s (the last run ended with status 3)"
    )


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"AGENTIC_BRIDGE_COMMAND": ""}, "set the stdio server's command"),
        ({"AGENTIC_BRIDGE_COMMAND": "x", "AGENTIC_BRIDGE_ARGS": "--flag"}, "AGENTIC_BRIDGE_ARGS: Value error"),
        ({"AGENTIC_BRIDGE_COMMAND": "x", "AGENTIC_BRIDGE_PASS_ENV": "NOT_SET_HERE"}, "not set: NOT_SET_HERE"),
    ],
)
def test_bad_configuration_is_refused_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], problem: str
) -> None:
    from apps.common.settings import load_settings

    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=re.escape(problem)):
        create_app(load_settings(BridgeSettings), environ={})
