"""The servers file in real runs: each server gets only its own credentials, and its allow-list, timeout and approval
mode apply. The MCP servers are the lab server behind a recorder of the headers each request carried."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from apps.agent_core.gateway.gateway import McpGateway
from apps.agent_core.gateway.servers_file import load_servers_file
from apps.agent_core.model import ToolCall
from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.common.settings import McpServerSettings
from tests.support.agent_core import TERMINAL, CoreClient, run_agent_core
from tests.support.lab_server import LabState, lab_tools
from tests.support.processes import run_service
from tests.support.servers import serve_in_thread

TOKEN = "internal-token-for-own-servers-only"
THIRD_KEY = "third-party-key-from-the-environment"
THIRD_AUTH = "third-party-authorization-value"


@dataclass
class HeaderLog:
    """ASGI middleware: keeps the headers of every request to /mcp, then passes it on."""

    app: ASGIApp
    seen: list[dict[str, str]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/mcp":
            self.seen.append({name.decode().lower(): value.decode() for name, value in scope["headers"]})
        await self.app(scope, receive, send)

    def names(self) -> set[str]:
        return {name for headers in self.seen for name in headers}

    def values(self, name: str) -> set[str]:
        return {headers[name] for headers in self.seen if name in headers}


@contextlib.contextmanager
def lab(token: str | None = None) -> Iterator[tuple[str, LabState, HeaderLog]]:
    """The lab server (requiring ``token`` if given) behind a header log; yields its /mcp URL, state and log."""
    state = LabState()
    spec = McpServerSpec(name="lab", service="lab", version="1", instructions="test tools", tools=lab_tools(state))
    settings = McpServerSettings(mcp_token=SecretStr(token) if token else None)
    log = HeaderLog(create_mcp_app(spec, settings))
    with serve_in_thread(log) as url:
        yield url + "/mcp", state, log


def servers_file(tmp_path: Path, servers: dict[str, Any]) -> Path:
    path = tmp_path / "servers.json"
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path


def workflow(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"workflow": {"name": "servers_file", "steps": list(steps)}}


def step(step_id: str, tool: str, **extra: Any) -> dict[str, Any]:
    arguments = extra.pop("arguments", {"text": step_id})
    return {"id": step_id, "tool": tool, "arguments": arguments, **extra}


def test_each_server_gets_only_its_own_credentials_and_no_value_is_shown(tmp_path: Path) -> None:
    """A process, as deployed: the internal token reaches only AGENTIC_MCP_SERVERS' server; a file entry gets exactly
    the headers it names; /api/tools, /api/health and the log (at DEBUG) show no header value."""
    with lab(token=TOKEN) as (own_url, _, own), lab() as (third_url, _, third), lab() as (plain_url, _, plain):
        path = servers_file(
            tmp_path,
            {
                "third": {"url": third_url, "headers": {"X-Api-Key": "${THIRD_KEY}", "Authorization": "${THIRD_AUTH}"}},
                "plain": {"url": plain_url},
            },
        )
        env = {
            "AGENTIC_MCP_SERVERS": f"own={own_url}",
            "AGENTIC_MCP_SERVERS_FILE": str(path),
            "AGENTIC_MCP_TOKEN": TOKEN,
            "THIRD_KEY": THIRD_KEY,
            "THIRD_AUTH": THIRD_AUTH,
            "AGENTIC_STATE": f"sqlite:///{tmp_path}/runs.db",
            "AGENTIC_REASONER": "offline",
            "AGENTIC_LOG_LEVEL": "DEBUG",
        }
        log_path = tmp_path / "agent-core.log"
        with (
            run_service("apps.agent_core", env, log_path=log_path) as service,
            httpx.Client(base_url=service.url, timeout=30) as http,
        ):
            core = CoreClient(service.url, http)
            run = core.wait_for(
                core.start(workflow(step("a", "own.echo"), step("b", "third.echo"), step("c", "plain.echo"))),
                TERMINAL,
            )
            tools = http.get("/api/tools")
            health = http.get("/api/health")
            service.process.send_signal(signal.SIGTERM)
            service.process.wait(timeout=30)

    assert run["status"] == "succeeded", run["error"]
    assert own.values("authorization") == {f"Bearer {TOKEN}"}
    assert third.values("authorization") == {THIRD_AUTH} and third.values("x-api-key") == {THIRD_KEY}
    # What the MCP client sends everyone (content type, protocol version, …) is what plain got; third got its own
    # two headers on top, and nothing else.
    assert third.names() - plain.names() == {"authorization", "x-api-key"}
    assert "authorization" not in plain.names()
    for log in (third, plain):
        assert not any(TOKEN in value for headers in log.seen for value in headers.values())

    servers = {server["server"]: server for server in tools.json()["servers"]}
    assert servers["own"]["headers"] == ["Authorization"]
    assert servers["third"]["headers"] == ["Authorization", "X-Api-Key"]
    assert servers["plain"]["headers"] == []
    assert health.status_code == 200
    logged = log_path.read_text(encoding="utf-8")
    assert '"level": "DEBUG"' in logged, "the log was written at DEBUG, where the most is logged"
    for shown, where in ((tools.text, "/api/tools"), (health.text, "/api/health"), (logged, "the log")):
        for secret in (TOKEN, THIRD_KEY, THIRD_AUTH):
            assert secret not in shown, f"{where} shows a header value"


def test_an_entry_may_send_the_internal_token_by_naming_it(tmp_path: Path) -> None:
    with lab(token=TOKEN) as (url, _, log):
        path = servers_file(
            tmp_path, {"partner": {"url": url, "headers": {"Authorization": "Bearer ${AGENTIC_MCP_TOKEN}"}}}
        )
        with run_agent_core({}, tmp_path, mcp_servers_file=path, mcp_token=TOKEN) as core:
            run = core.wait_for(core.start(workflow(step("a", "partner.echo"))), TERMINAL)
    assert run["status"] == "succeeded", run["error"]
    assert log.values("authorization") == {f"Bearer {TOKEN}"}


def test_the_allow_list_is_all_the_catalog_shows_and_all_a_call_may_reach(tmp_path: Path) -> None:
    with lab() as (url, state, _):
        path = servers_file(tmp_path, {"lab": {"url": url, "tools": ["echo", "slow_echo"]}})
        with run_agent_core({}, tmp_path, mcp_servers_file=path) as core:
            tools = core.http.get("/api/tools").json()
            refused = core.http.post(
                "/api/runs", json=workflow(step("s", "lab.scale", arguments={"target": "web", "replicas": 3}))
            )
            run = core.wait_for(core.start(workflow(step("a", "lab.echo"))), TERMINAL)

        # Below the catalog, the gateway itself refuses a tool the file does not allow.
        servers, _ = load_servers_file(path, os.environ)

        async def call_scale() -> str | None:
            async with McpGateway(servers) as gateway:
                await gateway.tools()
                outcome = await gateway.call(
                    ToolCall(id="1", server="lab", tool="scale", arguments={"target": "web", "replicas": 3})
                )
            return outcome.error

        error = asyncio.run(call_scale())

    assert sorted(tool["name"] for tool in tools["tools"]) == ["echo", "slow_echo"]
    assert refused.status_code == 400 and "unknown tool lab.scale; lab has: echo, slow_echo" in refused.text
    assert run["status"] == "succeeded", run["error"]
    assert error is not None and "unknown tool lab.scale: not allowed by the servers file" in error
    assert state.calls["scale"] == 0


def test_a_servers_timeout_applies_unless_the_step_sets_its_own(tmp_path: Path) -> None:
    with lab() as (url, state, _):
        path = servers_file(tmp_path, {"lab": {"url": url, "timeout_seconds": 0.5}})
        with run_agent_core({}, tmp_path, mcp_servers_file=path, step_timeout_seconds=30) as core:
            run = core.wait_for(
                core.start(
                    workflow(
                        step("short", "lab.slow_echo", arguments={"text": "short", "seconds": 2}, on_error="continue"),
                        step("own", "lab.slow_echo", arguments={"text": "own", "seconds": 1}, timeout_seconds=5),
                    )
                ),
                TERMINAL,
                timeout=30,
            )

    steps = {s["id"]: s for s in run["steps"]}
    assert steps["short"]["status"] == "failed" and "no answer within 0.5 s" in steps["short"]["error"]
    assert steps["own"]["status"] == "succeeded", "the step's own timeout_seconds wins over the server's"
    assert state.runs[("slow_echo", "own")] == 1


def test_approval_modes_per_server(tmp_path: Path) -> None:
    with lab() as (url, state, _):
        # One lab server under three names: its mode is a property of the entry, not of the server.
        path = servers_file(
            tmp_path, {"strict": {"url": url, "approval": "always"}, "lax": {"url": url, "approval": "never"}}
        )
        with run_agent_core({"own": url}, tmp_path, mcp_servers_file=path) as core:
            waiting = {"awaiting_approval"} | TERMINAL
            strict = core.wait_for(core.start(workflow(step("a", "strict.echo"))), waiting)
            lax = core.wait_for(
                core.start(workflow(step("b", "lax.scale", arguments={"target": "web", "replicas": 2}))), waiting
            )
            own = core.wait_for(
                core.start(workflow(step("c", "own.scale", arguments={"target": "api", "replicas": 2}))), waiting
            )

    assert strict["status"] == "awaiting_approval", "always: even a read-only tool waits"
    assert lax["status"] == "succeeded", "never: a destructive tool runs without asking"
    assert own["status"] == "awaiting_approval", "AGENTIC_MCP_SERVERS' servers keep the annotations rule"
    assert state.calls["echo"] == 0 and state.calls["scale"] == 1


def test_a_bad_file_stops_the_process_at_start_naming_every_problem(tmp_path: Path) -> None:
    path = servers_file(
        tmp_path,
        {
            "a": {"url": "https://a.example/mcp", "header": {"X": "1"}},
            "b": {"url": "https://b.example/mcp", "headers": {"X": "${NOT_SET_FOR_THIS_TEST}"}},
        },
    )
    env = {"AGENTIC_MCP_SERVERS_FILE": str(path), "AGENTIC_STATE": f"sqlite:///{tmp_path}/runs.db"}
    log_path = tmp_path / "agent-core.log"
    with pytest.raises(RuntimeError, match="exited with 2"), run_service("apps.agent_core", env, log_path=log_path):
        pass
    logged = log_path.read_text(encoding="utf-8")
    assert f"AGENTIC_MCP_SERVERS_FILE ({path}): server 'a': unknown key 'header'" in logged, logged
    assert (
        f"AGENTIC_MCP_SERVERS_FILE ({path}): server 'b', key 'headers.X': ${{NOT_SET_FOR_THIS_TEST}} is not set"
        in logged
    )


STDIO_SERVER = """\
import os, sys
from mcp.server import MCPServer

server = MCPServer("tiny")


@server.tool(description="Say what this process was given.")
def given() -> dict[str, object]:
    return {
        "arg": sys.argv[1],
        "mark": os.environ.get("MARK"),
        "cwd": os.getcwd(),
        "sees_token": "AGENTIC_MCP_TOKEN" in os.environ,
    }


server.run("stdio")
"""


def test_a_stdio_entry_runs_with_its_variables_filled_in_and_is_shown_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "tiny_server.py"
    script.write_text(STDIO_SERVER, encoding="utf-8")
    (tmp_path / "work").mkdir()
    monkeypatch.setenv("TINY_ARG", "argument-from-the-environment")
    monkeypatch.setenv("TINY_MARK", THIRD_KEY)
    monkeypatch.setenv("AGENTIC_MCP_TOKEN", TOKEN)
    path = servers_file(
        tmp_path,
        {
            "tiny": {
                "command": sys.executable,
                "args": [str(script), "${TINY_ARG}"],
                "env": {"MARK": "${TINY_MARK}"},
                "cwd": "work",
                "approval": "never",  # its tool has no annotations, so it would otherwise wait for a person
            }
        },
    )
    with run_agent_core({}, tmp_path, mcp_servers_file=path, mcp_token=TOKEN) as core:
        run = core.wait_for(core.start(workflow(step("a", "tiny.given", arguments={}))), TERMINAL, timeout=60)
        tools = core.http.get("/api/tools")

    assert run["status"] == "succeeded", run["error"]
    result = run["steps"][0]["result"]
    assert result == {
        "arg": "argument-from-the-environment",
        "mark": THIRD_KEY,
        "cwd": str(tmp_path / "work"),
        "sees_token": False,
    }
    (tiny,) = tools.json()["servers"]
    assert (tiny["transport"], tiny["headers"]) == ("stdio", [])
    assert tiny["url"] == f"{sys.executable} {script} '${{TINY_ARG}}'", "the command line as written in the file"
    assert THIRD_KEY not in tools.text and TOKEN not in tools.text
