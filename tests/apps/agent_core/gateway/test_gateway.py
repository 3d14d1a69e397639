"""``McpGateway`` over real MCP servers: the catalog, outcomes, retries, the breaker, health."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import pytest
from pydantic import SecretStr

from apps.agent_core.gateway.gateway import McpGateway
from apps.agent_core.gateway.retry import CallRetryPolicy
from apps.agent_core.model import ToolCall, ToolOutcome
from apps.common.settings import McpServerSettings
from tests.apps.agent_core.gateway.support import ALPHA_TOOLS, FakeClock, RestartableServer, mcp_app
from tests.support.net import free_port

T = TypeVar("T")
FAST_RETRY = CallRetryPolicy(max_attempts=3, base_delay_seconds=0.01, max_delay_seconds=0.05)


def gateway(servers: dict[str, str], **options: Any) -> McpGateway:
    options.setdefault("retry", FAST_RETRY)
    return McpGateway(servers, **options)


def run(gw: McpGateway, scenario: Callable[[McpGateway], Awaitable[T]]) -> T:
    async def main() -> T:
        async with gw:
            return await scenario(gw)

    return anyio.run(main)


def call(tool: str, server: str = "alpha", **arguments: Any) -> ToolCall:
    return ToolCall(id=f"call-{tool}", server=server, tool=tool, arguments=arguments)


# The catalog


def test_merges_every_reachable_servers_tools_and_skips_an_unreachable_one(
    alpha: RestartableServer, beta: RestartableServer
) -> None:
    down = f"http://127.0.0.1:{free_port()}/mcp"
    gw = gateway({"alpha": alpha.url + "/mcp", "down": down, "beta": beta.url + "/mcp"})
    tools = run(gw, lambda gw: gw.tools())
    assert [(tool.server, tool.name) for tool in tools] == [
        ("alpha", "echo"),
        ("alpha", "slow"),
        ("alpha", "fail"),
        ("alpha", "wipe"),
        ("alpha", "rendezvous"),
        ("beta", "lookup"),
    ]
    lookup = tools[-1]
    assert (lookup.read_only, lookup.destructive, lookup.idempotent) == (False, False, True)


def test_the_catalog_is_cached_for_its_ttl(alpha: RestartableServer, clock: FakeClock) -> None:
    gw = gateway({"alpha": alpha.url + "/mcp"}, catalog_ttl_seconds=60, clock=clock)

    async def scenario(gw: McpGateway) -> list[int]:
        listed = []
        await gw.tools()
        listed.append(alpha.log.mcp("tools/list"))
        clock.advance(59)
        await gw.tools()
        listed.append(alpha.log.mcp("tools/list"))
        clock.advance(1)
        await gw.tools()
        listed.append(alpha.log.mcp("tools/list"))
        await gw.tools(refresh=True)
        listed.append(alpha.log.mcp("tools/list"))
        return listed

    assert run(gw, scenario) == [1, 1, 2, 3]


def test_an_unknown_tool_refreshes_the_catalog(alpha: RestartableServer) -> None:
    gw = gateway({"alpha": alpha.url + "/mcp"}, catalog_ttl_seconds=3600)

    async def scenario(gw: McpGateway) -> ToolOutcome:
        await gw.tools()
        await gw.tools()
        outcome = await gw.call(call("teleport"))
        await gw.tools()
        return outcome

    outcome = run(gw, scenario)
    assert not outcome.ok and outcome.attempts == 1
    assert outcome.error is not None and "Unknown tool 'teleport'" in outcome.error
    assert alpha.log.mcp("tools/list") == 2, "listed once, then again after the unknown tool"


def test_a_transport_failure_refreshes_the_catalog_and_a_down_server_lists_nothing(
    alpha: RestartableServer, beta: RestartableServer
) -> None:
    servers = {"alpha": alpha.url + "/mcp", "beta": beta.url + "/mcp"}
    gw = gateway(servers, catalog_ttl_seconds=3600, failure_threshold=20)  # the breaker is another test's

    async def scenario(gw: McpGateway) -> tuple[set[str], ToolOutcome, set[str], set[str]]:
        first = {tool.server for tool in await gw.tools()}
        beta.log.fail_next(503, times=6)
        outcome = await gw.call(call("lookup", server="beta", key="k"))
        during = {tool.server for tool in await gw.tools()}  # beta is listed again, and still fails
        beta.log.clear()
        after = {tool.server for tool in await gw.tools()}
        return first, outcome, during, after

    first, outcome, during, after = run(gw, scenario)
    assert not outcome.ok and outcome.attempts == 3
    assert first == {"alpha", "beta"}
    assert during == {"alpha"}
    assert after == {"alpha", "beta"}


# Calls and their outcomes


def test_after_the_catalog_is_loaded_each_call_is_one_request(alpha: RestartableServer) -> None:
    gw = gateway({"alpha": alpha.url + "/mcp"})

    async def scenario(gw: McpGateway) -> list[ToolOutcome]:
        await gw.tools()
        alpha.log.clear()
        return [await gw.call(call("echo", text=f"t{index}")) for index in range(10)]

    outcomes = run(gw, scenario)
    assert [outcome.result for outcome in outcomes] == [{"text": f"t{index}"} for index in range(10)]
    assert alpha.log.mcp() == 10 and alpha.log.mcp("tools/call") == 10


def test_a_result_is_the_structured_content_and_a_tool_error_is_not_retried(alpha: RestartableServer) -> None:
    gw = gateway({"alpha": alpha.url + "/mcp"})

    async def scenario(gw: McpGateway) -> tuple[ToolOutcome, ToolOutcome, ToolOutcome]:
        return (
            await gw.call(call("echo", text="hi")),
            await gw.call(call("fail", reason="no")),
            await gw.call(call("echo", server="nowhere", text="hi")),
        )

    ok, failed, unknown = run(gw, scenario)
    assert (ok.ok, ok.result, ok.attempts, ok.call_id) == (True, {"text": "hi"}, 1, "call-echo")
    assert ok.duration_ms > 0
    assert not failed.ok and failed.error is not None and failed.error.endswith("cannot do that: no")
    assert failed.attempts == 1 and alpha.log.mcp("tools/call") == 2
    assert not unknown.ok and unknown.error == "unknown MCP server 'nowhere' (configured: alpha)"


def test_a_call_past_its_timeout_fails_and_the_client_stays_usable(alpha: RestartableServer) -> None:
    gw = gateway({"alpha": alpha.url + "/mcp"})

    async def scenario(gw: McpGateway) -> tuple[ToolOutcome, ToolOutcome, str]:
        late = await gw.call(call("slow", seconds=1), timeout=0.2)
        return late, await gw.call(call("echo", text="after")), gw.client("alpha").breaker.state

    late, after, breaker = run(gw, scenario)
    assert not late.ok and late.error == "alpha MCP server gave no answer within 0.2 s; the tool may still be running"
    assert late.duration_ms < 900, "the caller does not wait for the tool"
    assert after.ok and after.result == {"text": "after"}
    assert breaker == "closed", "a slow tool is not a down server"


def test_the_bearer_token_is_sent_and_a_401_is_not_retried() -> None:
    settings = McpServerSettings(mcp_token=SecretStr("s3cret"))
    server = RestartableServer(lambda: mcp_app("alpha", ALPHA_TOOLS, settings))
    server.start()
    try:
        right = gateway({"alpha": server.url + "/mcp"}, token="s3cret")
        ok = run(right, lambda gw: gw.call(call("echo", text="hi")))
        assert ok.ok and server.log.mcp("tools/call") == 1
        server.log.clear()
        wrong = gateway({"alpha": server.url + "/mcp"}, token="guess")
        refused = run(wrong, lambda gw: gw.call(call("echo", text="hi")))
        assert not refused.ok and refused.attempts == 1
        assert refused.error is not None
        assert refused.error.startswith("alpha MCP server rejected the request: HTTP 401 Unauthorized")
        assert "requires a bearer token" in refused.error
        # Refused at negotiation (the 2026-07-28 probe, then the handshake): the call is never sent.
        assert server.log.mcp("server/discover") == 1 and server.log.mcp() == 2
    finally:
        server.stop()


# Retries: transient failures that provably did not reach the tool, or are safe to resend


def test_503_is_retried_until_the_server_answers(alpha: RestartableServer) -> None:
    gw = gateway({"alpha": alpha.url + "/mcp"})

    async def scenario(gw: McpGateway) -> ToolOutcome:
        await gw.tools()
        alpha.log.fail_next(503, times=2)
        return await gw.call(call("wipe", key="k"))  # destructive, yet a 503 proves it never ran

    outcome = run(gw, scenario)
    assert outcome.ok and outcome.result == {"text": "wiped k"} and outcome.attempts == 3
    assert alpha.log.mcp("tools/call") == 3


def test_400_is_not_retried(alpha: RestartableServer) -> None:
    gw = gateway({"alpha": alpha.url + "/mcp"})

    async def scenario(gw: McpGateway) -> ToolOutcome:
        await gw.tools()
        alpha.log.fail_next(400, times=1, body="malformed request")
        return await gw.call(call("echo", text="x"))

    outcome = run(gw, scenario)
    assert not outcome.ok and outcome.attempts == 1
    assert outcome.error == "alpha MCP server rejected the request: HTTP 400 Bad Request: malformed request"
    assert alpha.log.mcp("tools/call") == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "status", "attempts", "ok"),
    [
        ("echo", {"text": "x"}, 502, 2, True),  # read-only: resending is harmless
        ("wipe", {"key": "k"}, 504, 1, False),  # destructive, and a 504 may mean it ran: reported, not resent
    ],
)
def test_502_and_504_are_retried_only_for_tools_that_are_safe_to_repeat(
    alpha: RestartableServer, tool: str, arguments: dict[str, Any], status: int, attempts: int, ok: bool
) -> None:
    gw = gateway({"alpha": alpha.url + "/mcp"})

    async def scenario(gw: McpGateway) -> ToolOutcome:
        await gw.tools()  # the annotations come from the catalog
        alpha.log.fail_next(status, times=1)
        return await gw.call(ToolCall(id="c", server="alpha", tool=tool, arguments=arguments))

    outcome = run(gw, scenario)
    assert (outcome.ok, outcome.attempts) == (ok, attempts)
    assert alpha.log.mcp("tools/call") == attempts
    if not ok:
        assert outcome.error == "alpha MCP server is unreachable (HTTP 504 Gateway Timeout)"


# The breaker, with a server that goes away and comes back on the same port


def test_breaker_opens_when_a_server_stops_fails_fast_then_probes_and_recovers(clock: FakeClock) -> None:
    server = RestartableServer(lambda: mcp_app("alpha", ALPHA_TOOLS))
    server.start()
    gw = gateway({"alpha": server.url + "/mcp"}, failure_threshold=3, reset_timeout_seconds=10, clock=clock)
    seen: dict[str, Any] = {}

    async def timed(gw: McpGateway, text: str) -> tuple[ToolOutcome, float]:
        started = time.perf_counter()
        outcome = await gw.call(call("echo", text=text))
        return outcome, time.perf_counter() - started

    async def scenario(gw: McpGateway) -> None:
        breaker = gw.client("alpha").breaker
        seen["before"] = await gw.call(call("echo", text="up"))
        server.stop()
        seen["down"] = await gw.call(call("echo", text="down"))
        seen["state_down"] = breaker.state
        seen["open"], seen["open_seconds"] = await timed(gw, "open")
        clock.advance(10)
        seen["failed_probe"] = await gw.call(call("echo", text="probe"))
        seen["state_after_failed_probe"] = breaker.state
        await anyio.to_thread.run_sync(server.start)  # same port, a new process's worth of app
        seen["still_open"], _ = await timed(gw, "early")
        clock.advance(10)
        seen["state_half_open"] = breaker.state
        seen["probe"] = await gw.call(call("echo", text="back"))
        seen["state_recovered"] = breaker.state
        seen["health"] = await gw.health()

    try:
        run(gw, scenario)
    finally:
        server.stop()
    assert seen["before"].ok
    down: ToolOutcome = seen["down"]
    # Three refused connections, each one a failure: the breaker opens within the call.
    assert not down.ok and down.attempts == 3
    assert down.error == "alpha MCP server is unreachable (connection refused) after 3 attempts; circuit open for 10 s"
    assert seen["state_down"] == "open"
    fast: ToolOutcome = seen["open"]
    assert not fast.ok and fast.attempts == 0
    assert fast.error == (
        "alpha MCP server is unavailable: circuit open after repeated failures, "
        "next attempt in 10.0 s; last failure: connection refused"
    )
    assert seen["open_seconds"] < 0.05, "an open breaker answers without touching the network"
    failed_probe: ToolOutcome = seen["failed_probe"]
    assert not failed_probe.ok and failed_probe.attempts == 1, "one probe, no retries behind it"
    assert seen["state_after_failed_probe"] == "open"
    assert not seen["still_open"].ok and seen["still_open"].attempts == 0, "the server is back, the cool-down is not"
    assert seen["state_half_open"] == "half_open"
    probe: ToolOutcome = seen["probe"]
    assert probe.ok and probe.result == {"text": "back"} and probe.attempts == 1
    assert seen["state_recovered"] == "closed"
    assert seen["health"][0].reachable and seen["health"][0].breaker == "closed"


# Health


def test_health_measures_latency_and_reports_an_unreachable_server(alpha: RestartableServer) -> None:
    down = f"http://127.0.0.1:{free_port()}/mcp"
    gw = gateway({"alpha": alpha.url + "/mcp", "down": down})
    up, gone = run(gw, lambda gw: gw.health())
    assert (up.server, up.url, up.reachable, up.breaker, up.error) == (
        "alpha",
        alpha.url + "/mcp",
        True,
        "closed",
        None,
    )
    assert up.latency_ms is not None and 0 < up.latency_ms < 2000
    assert (gone.server, gone.reachable, gone.latency_ms, gone.error) == ("down", False, None, "connection refused")
    # Over MCP, not the /health route only this platform's servers have: the first meeting negotiates
    # (a 2026-07-28 server answers the server/discover probe), then the probe itself is one more discover.
    assert [(seen.path, seen.mcp_method) for seen in alpha.log.seen] == [("/mcp", "server/discover")] * 2
    assert (up.protocol_version, up.probe, up.failure, gone.failure) == (
        "2026-07-28",
        "server/discover",
        None,
        "unreachable",
    )


def test_a_closed_gateway_answers_with_outcomes_not_exceptions(alpha: RestartableServer) -> None:
    async def scenario() -> tuple[ToolOutcome, list[Any]]:
        gw = gateway({"alpha": alpha.url + "/mcp"})
        await gw.aclose()
        await gw.aclose()
        return await gw.call(call("echo", text="x")), await gw.health()

    outcome, health = anyio.run(scenario)
    assert (outcome.ok, outcome.attempts, outcome.error) == (False, 0, "alpha MCP server: the gateway is closed")
    assert not health[0].reachable and health[0].error == "the gateway is closed"
    assert alpha.log.mcp() == 0
