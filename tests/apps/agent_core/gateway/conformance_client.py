"""The gateway's MCP client as the official conformance suite's client under test.

``conformance client --command "python -m tests.apps.agent_core.gateway.conformance_client" --scenario S``
starts the test server of scenario S, runs this program with the server's URL as its last argument and S in
``MCP_CONFORMANCE_SCENARIO``, and judges what its server saw. This program drives ``McpServerClient``, the
client the gateway builds for every remote server (negotiation, sessions, retries and all), not the SDK
directly: what is under test is our client.

Each scenario does what the gateway would do with such a server (list its tools, call the one it offers) and
checks the answers too: exit status 1, with the reason on stderr, when an answer is not what the scenario's
server sends (the suite fails a scenario whose client failed).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

from mcp_types import TextContent

from apps.agent_core.gateway.errors import McpServerError
from apps.agent_core.gateway.mcp_server_client import McpServerClient

SCENARIO_VARIABLE = "MCP_CONFORMANCE_SCENARIO"
_TIMEOUT_SECONDS = 10.0
"""Per request; sse-retry's answer comes after its server's 500 ms retry delay, well within it."""


class Unexpected(Exception):
    """An answer that is not what the scenario's server sends."""


async def _initialize(client: McpServerClient) -> None:
    # The handshake (what this scenario judges) happens on the client's first request.
    tools = await client.list_tools(timeout=_TIMEOUT_SECONDS)
    _expect(tools == [], f"its server lists no tools, the client saw {[tool.name for tool in tools]}")


async def _tools_call(client: McpServerClient) -> None:
    await _call_listed(client, "add_numbers", {"a": 5, "b": 3}, "The sum of 5 and 3 is 8")


async def _sse_retry(client: McpServerClient) -> None:
    # Its server closes the call's SSE stream before answering, and answers on the stream the client reopens.
    await _call_listed(client, "test_reconnection", {}, "Reconnection test completed successfully")


async def _call_listed(client: McpServerClient, tool: str, arguments: dict[str, object], answer: str) -> None:
    specs = await client.list_tools(timeout=_TIMEOUT_SECONDS)
    _expect([spec.name for spec in specs] == [tool], f"expected the one tool {tool}, listed {specs}")
    # As the gateway calls it: retries only if the tool's annotations say it is idempotent (these say nothing).
    called = await client.call_tool(tool, arguments, timeout=_TIMEOUT_SECONDS, idempotent=specs[0].idempotent)
    texts = [part.text for part in called.result.content if isinstance(part, TextContent)]
    _expect(not called.result.is_error and texts == [answer], f"expected {answer!r}, got {called.result!r}")
    _expect(called.attempts == 1, f"a tools/call is never sent twice, it took {called.attempts} attempts")


SCENARIOS: dict[str, Callable[[McpServerClient], Awaitable[None]]] = {
    "initialize": _initialize,
    "tools_call": _tools_call,
    "sse-retry": _sse_retry,
}


def _expect(condition: bool, why: str) -> None:
    if not condition:
        raise Unexpected(why)


async def run(scenario: str, url: str) -> None:
    client = McpServerClient("conformance", url)
    try:
        await SCENARIOS[scenario](client)
    finally:
        await client.aclose()


def main(argv: list[str]) -> int:
    scenario = os.environ.get(SCENARIO_VARIABLE, "")
    if scenario not in SCENARIOS or len(argv) < 2:
        print(f"usage: {SCENARIO_VARIABLE}=<{'|'.join(SCENARIOS)}> {argv[0]} <server URL>", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(scenario, argv[-1]))
    except (Unexpected, McpServerError) as error:
        print(f"{scenario}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
