"""The agent core against MCP servers this project did not write, through its real HTTP API.

- ``@modelcontextprotocol/server-everything`` 2026.8.31 (npm, TypeScript SDK 1.x; tools/mcp-everything):
  Streamable HTTP with sessions, answers POSTs as SSE. Its ``streamableHttp.js`` answers a request whose
  session it does not know with HTTP 400 "Bad Request: No valid session ID provided" (JSON-RPC -32000);
- a ``FastMCP`` server on the official Python SDK ``mcp==1.30.0`` (tools/mcp-python-v1, own virtualenv),
  session-ful (SSE answers) and stateless (JSON answers). Its ``StreamableHTTPSessionManager``
  (``mcp/server/streamable_http_manager.py``) answers an unknown session with 404 "Session not found";
- one of our own servers (the kit's, 2026-07-28), which must keep its one request per tool call.

Each third-party server is started once for the module; the session-ful ones restart inside a test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apps.agent_core.gateway.support import RestartableServer
from tests.support.agent_core import TERMINAL, CoreClient, run_agent_core
from tests.support.mcp_tap import READY_PATH, McpTap
from tests.support.servers import serve_in_thread
from tests.support.third_party_mcp import (
    EVERYTHING_ENTRY,
    INSTALL_HINT,
    PYTHON_V1,
    ServerProcess,
    python_sdk_v1,
    server_everything,
)

ECHO_ARGUMENT = {"everything": "message", "pyv1": "text", "pyv1_stateless": "text", "ours": "text"}


class ThirdParty:
    def __init__(self, everything: ServerProcess, tap: McpTap, pyv1: ServerProcess, call_log: Path) -> None:
        self.everything = everything
        self.tap = tap
        """In front of server-everything: what reached it, and what it answered."""
        self.pyv1 = pyv1
        self.call_log = call_log
        """One line per ``echo`` the Python SDK 1.x server (session-ful) really ran."""

    def pyv1_calls(self) -> list[str]:
        return self.call_log.read_text().splitlines() if self.call_log.exists() else []


@pytest.fixture(scope="module")
def third_party(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThirdParty, dict[str, str]]]:
    assert EVERYTHING_ENTRY.exists() and PYTHON_V1.exists(), INSTALL_HINT
    logs = tmp_path_factory.mktemp("third-party")
    everything = server_everything(logs / "everything.log")
    pyv1 = python_sdk_v1(logs / "pyv1.log", logs / "pyv1-calls.txt", stateless=False)
    stateless = python_sdk_v1(logs / "pyv1-stateless.log", logs / "pyv1-stateless-calls.txt", stateless=True)
    started: list[ServerProcess] = []
    try:
        for process in (everything, pyv1, stateless):
            process.start()
            started.append(process)
        tap = McpTap(f"http://127.0.0.1:{everything.port}")
        with serve_in_thread(tap, ready_path=READY_PATH) as tap_url:
            urls = {"everything": tap_url + "/mcp", "pyv1": pyv1.url, "pyv1_stateless": stateless.url}
            yield ThirdParty(everything, tap, pyv1, logs / "pyv1-calls.txt"), urls
    finally:
        for process in started:
            process.stop()


@pytest.fixture(scope="module")
def core(
    third_party: tuple[ThirdParty, dict[str, str]], alpha: RestartableServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CoreClient]:
    _, urls = third_party
    servers = {**urls, "ours": alpha.url + "/mcp"}
    # The Python servers' echo carries no annotations, so MCP's defaults make it destructive: approved here
    # by configuration, it stays a tool the gateway must never send twice.
    with run_agent_core(
        servers, tmp_path_factory.mktemp("core"), auto_approve="pyv1.echo,pyv1_stateless.echo"
    ) as client:
        yield client


def echo_run(core: CoreClient, server: str, text: str) -> dict[str, Any]:
    workflow = {
        "name": f"echo_{server}",
        "steps": [{"id": "echo", "tool": f"{server}.echo", "arguments": {ECHO_ARGUMENT[server]: text}}],
    }
    return core.wait_for(core.start({"workflow": workflow}), TERMINAL, timeout=30)


def by_server(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["server"]: entry for entry in entries}


def test_every_servers_tools_are_listed_with_the_revision_it_speaks(core: CoreClient) -> None:
    answer = core.http.get("/api/tools", params={"refresh": "true"}).json()
    listed = {(tool["server"], tool["name"]) for tool in answer["tools"]}
    assert {("everything", "echo"), ("pyv1", "echo"), ("pyv1_stateless", "echo"), ("ours", "echo")} <= listed
    servers = by_server(answer["servers"])
    seen = {
        name: (server["reachable"], server["protocol_version"], server["session"], server["transport"], server["error"])
        for name, server in servers.items()
    }
    assert seen == {
        "everything": (True, "2025-11-25", True, "streamable-http", None),
        "pyv1": (True, "2025-11-25", True, "streamable-http", None),
        "pyv1_stateless": (True, "2025-11-25", False, "streamable-http", None),
        "ours": (True, "2026-07-28", False, "streamable-http", None),
    }
    for name, server in servers.items():
        assert server["tools"] == sum(1 for tool in answer["tools"] if tool["server"] == name)
    assert servers["everything"]["tools"] >= 10, "server-everything lists a dozen tools"


@pytest.mark.parametrize("server", ["everything", "pyv1", "pyv1_stateless", "ours"])
def test_a_workflow_step_calls_echo_on_the_server(core: CoreClient, server: str) -> None:
    run = echo_run(core, server, f"hello {server}")
    assert run["status"] == "succeeded", run["steps"]
    step = run["steps"][0]
    assert f"hello {server}" in str(step["result"])


def test_health_probes_each_server_over_mcp_on_its_revision(
    core: CoreClient, third_party: tuple[ThirdParty, dict[str, str]], alpha: RestartableServer
) -> None:
    parties, _ = third_party
    core.http.get("/api/tools")  # every server met at least once
    parties.tap.seen.clear()
    health = core.http.get("/api/health").json()
    servers = by_server(health["servers"])
    assert {name: (s["reachable"], s["probe"], s["protocol_version"], s["error"]) for name, s in servers.items()} == {
        "everything": (True, "ping", "2025-11-25", None),
        "pyv1": (True, "ping", "2025-11-25", None),
        "pyv1_stateless": (True, "ping", "2025-11-25", None),
        "ours": (True, "server/discover", "2026-07-28", None),
    }
    assert health["status"] == "ok"
    assert all(server["latency_ms"] is not None for server in servers.values())
    assert [(t.method, t.with_session, t.status) for t in parties.tap.seen] == [("ping", True, 200)]
    # Our own server: one MCP request, and not the /health route that only this platform's servers have.
    assert alpha.log.mcp("server/discover") == 1 and alpha.log.mcp() == 1
    assert not [seen for seen in alpha.log.seen if seen.path == "/health"]


@pytest.mark.parametrize("server", ["everything", "pyv1"])
def test_a_session_ful_server_that_restarts_is_used_again_and_the_call_is_not_repeated(
    core: CoreClient, third_party: tuple[ThirdParty, dict[str, str]], server: str
) -> None:
    parties, _ = third_party
    first = echo_run(core, server, "before the restart")
    assert first["status"] == "succeeded", first["steps"]
    process = parties.everything if server == "everything" else parties.pyv1
    process.restart()  # the new process knows none of the sessions the agent core holds
    parties.tap.seen.clear()
    runs_before = len(parties.pyv1_calls())

    second = echo_run(core, server, "after the restart")

    assert second["status"] == "succeeded", second["steps"]
    assert second["steps"][0]["attempt"] == 1, "the lost session is mended inside the one attempt"
    if server == "pyv1":
        # Its tool is not annotated idempotent: it must have run exactly once.
        assert parties.pyv1_calls()[runs_before:] == ["after the restart"]
    else:
        calls = [(t.with_session, t.status) for t in parties.tap.seen if t.method == "tools/call"]
        # Refused for the dead session (never reached the tool), then sent once on the new session.
        assert calls == [(True, 400), (True, 200)]
        assert parties.tap.count("initialize", 200) == 1
