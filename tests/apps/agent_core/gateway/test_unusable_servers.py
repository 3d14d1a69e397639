"""What stands at an MCP URL when it is not a working MCP server, and how the agent core reports it.

Every such server is named in ``/api/health`` and ``/api/tools`` with what is wrong (never silently left
out), a server that answers is never called unreachable, and a protocol mismatch does not open the breaker:
the server is up, resending cannot help, and failing fast would hide the real reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from apps.agent_core.gateway.gateway import McpGateway
from apps.agent_core.model import ToolCall, ToolOutcome
from tests.apps.agent_core.gateway.support import RestartableServer
from tests.support.agent_core import CoreClient, run_agent_core
from tests.support.broken_mcp import ANCIENT_REVISION, run_socket_stand_in, run_stand_in


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[dict[str, str]]:
    with contextlib.ExitStack() as stack:
        urls = {kind: stack.enter_context(run_stand_in(kind)) for kind in ("garbage", "http_400", "mismatch")}
        urls |= {kind: stack.enter_context(run_socket_stand_in(kind)) for kind in ("hang_up", "silent")}
        yield urls


@pytest.fixture(scope="module")
def core(
    stand_ins: dict[str, str], alpha: RestartableServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CoreClient]:
    servers = {**stand_ins, "ours": alpha.url + "/mcp"}
    with run_agent_core(servers, tmp_path_factory.mktemp("core")) as client:
        yield client


def by_server(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["server"]: entry for entry in entries}


def test_health_names_each_unusable_server_and_what_is_wrong_with_it(core: CoreClient) -> None:
    health = core.http.get("/api/health").json()
    servers = by_server(health["servers"])
    assert health["status"] == "degraded"
    assert {name: (s["reachable"], s["failure"]) for name, s in servers.items()} == {
        "garbage": (False, "rejected"),
        "http_400": (False, "rejected"),
        "mismatch": (False, "protocol_mismatch"),
        "hang_up": (False, "unreachable"),
        "silent": (False, "timeout"),
        "ours": (True, None),
    }
    assert "text/html" in servers["garbage"]["error"]
    assert servers["http_400"]["error"].startswith("rejected: HTTP 400 Bad Request"), "it answered: not unreachable"
    assert servers["mismatch"]["error"].startswith("protocol mismatch: ")
    assert ANCIENT_REVISION in servers["mismatch"]["error"] and "2025-11-25" in servers["mismatch"]["error"]
    assert servers["silent"]["error"] == "no answer within 2 s"


def test_tools_lists_the_servers_it_could_not_list_with_their_errors(
    stand_ins: dict[str, str], alpha: RestartableServer, tmp_path: Path
) -> None:
    # Without the silent server: its listing would wait out the whole list timeout.
    answering = {name: url for name, url in stand_ins.items() if name != "silent"}
    with run_agent_core({**answering, "ours": alpha.url + "/mcp"}, tmp_path) as core:
        answer = core.http.get("/api/tools").json()
    servers = by_server(answer["servers"])
    assert {tool["server"] for tool in answer["tools"]} == {"ours"}
    assert list(servers) == ["garbage", "http_400", "mismatch", "hang_up", "ours"], "every server, in order"
    assert {name: (s["reachable"], s["tools"], s["failure"]) for name, s in servers.items()} == {
        "garbage": (False, None, "rejected"),
        "http_400": (False, None, "rejected"),
        "mismatch": (False, None, "protocol_mismatch"),
        "hang_up": (False, None, "unreachable"),
        "ours": (True, 5, None),
    }
    assert servers["mismatch"]["error"].startswith("mismatch MCP server: protocol mismatch, no MCP revision in common")
    assert servers["http_400"]["error"].startswith("http_400 MCP server rejected the request: HTTP 400 Bad Request")


def test_a_protocol_mismatch_is_reported_as_such_and_does_not_open_the_breaker(stand_ins: dict[str, str]) -> None:
    gateway = McpGateway({"mismatch": stand_ins["mismatch"]}, failure_threshold=2)

    async def scenario() -> tuple[list[ToolOutcome], str]:
        async with gateway:
            call = ToolCall(id="c", server="mismatch", tool="echo", arguments={"text": "x"})
            outcomes = [await gateway.call(call) for _ in range(4)]
            return outcomes, gateway.client("mismatch").breaker.state

    outcomes, breaker = anyio.run(scenario)
    assert breaker == "closed"
    for outcome in outcomes:
        assert not outcome.ok and outcome.attempts == 1, "not resent: another try cannot help"
        assert outcome.error is not None and outcome.error.startswith(
            "mismatch MCP server: protocol mismatch, no MCP revision in common"
        )
        assert "unreachable" not in outcome.error and "unknown tool" not in outcome.error
