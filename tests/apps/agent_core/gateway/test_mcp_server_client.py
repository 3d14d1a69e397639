"""One server's client over real HTTP: requests per call, pooling, concurrency, a client that dies, what an
answer with a JSON-RPC error means."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from apps.agent_core.gateway.breaker import CircuitBreaker
from apps.agent_core.gateway.errors import McpServerError, ServerRejected, ServerUnavailable
from apps.agent_core.gateway.mcp_server_client import McpServerClient
from tests.apps.agent_core.gateway.support import ALPHA_TOOLS, RestartableServer, mcp_app, metric
from tests.support.servers import serve_in_thread

POST_MCP_OK = 'mcp_http_requests_total{method="POST",path="/mcp",status="200"}'


def test_after_warm_up_each_call_is_exactly_one_http_request_on_one_connection(alpha: RestartableServer) -> None:
    calls = 25

    async def scenario() -> None:
        client = McpServerClient("alpha", alpha.url + "/mcp")
        try:
            await client.list_tools(timeout=5)  # warm-up: the SDK learns the output schemas
            await client.call_tool("echo", {"text": "warm"}, timeout=5)
            alpha.log.clear()
            before = httpx.get(alpha.url + "/metrics").text
            for index in range(calls):
                called = await client.call_tool("echo", {"text": f"n{index}"}, timeout=5)
                assert called.result.structured_content == {"text": f"n{index}"}
            after = httpx.get(alpha.url + "/metrics").text
        finally:
            await client.aclose()
        # Counted twice at the server: by its own metrics and by the log in front of it.
        assert metric(after, POST_MCP_OK) - metric(before, POST_MCP_OK) == calls
        assert alpha.log.mcp("tools/call") == calls
        assert alpha.log.mcp() == calls, "no handshake, discover or tools/list per call"
        ports = {seen.client_port for seen in alpha.log.seen if seen.path == "/mcp"}
        assert len(ports) == 1, "sequential calls reuse one pooled keep-alive connection"

    anyio.run(scenario)


def test_twenty_concurrent_calls_share_one_client(alpha: RestartableServer) -> None:
    async def scenario() -> list[Any]:
        client = McpServerClient("alpha", alpha.url + "/mcp")
        try:
            await client.list_tools(timeout=5)
            group = uuid.uuid4().hex
            calls = [client.call_tool("rendezvous", {"group": group, "size": 20}, timeout=10) for _ in range(20)]
            return [called.result for called in await asyncio.gather(*calls)]
        finally:
            await client.aclose()

    results = anyio.run(scenario)
    assert [result.is_error for result in results] == [False] * 20
    # Each call waited at the server until all twenty had been in flight together.
    assert [result.structured_content["seen"] for result in results] == [20] * 20


def test_list_tools_maps_the_servers_annotations(alpha: RestartableServer) -> None:
    async def scenario() -> dict[str, Any]:
        client = McpServerClient("alpha", alpha.url + "/mcp")
        try:
            return {spec.name: spec for spec in await client.list_tools(timeout=5)}
        finally:
            await client.aclose()

    specs = anyio.run(scenario)
    assert set(specs) == {"echo", "slow", "fail", "wipe", "rendezvous"}
    echo, wipe = specs["echo"], specs["wipe"]
    assert (echo.server, echo.read_only, echo.destructive, echo.idempotent, echo.open_world) == (
        "alpha",
        True,
        False,
        True,
        False,
    )
    assert (wipe.read_only, wipe.destructive, wipe.idempotent, wipe.open_world) == (False, True, False, True)
    assert echo.description == "Repeat a text."
    assert echo.input_schema["properties"]["text"]["maxLength"] == 100
    assert echo.output_schema is not None and "text" in echo.output_schema["properties"]


class Sabotage(httpx2.AsyncBaseTransport):
    """Raises an error the observing transport does not know, once: the SDK client dies of it."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.armed = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.armed:
            self.armed = False
            raise RuntimeError("something nobody expected")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("idempotent", [False, True])
def test_a_dead_sdk_client_is_replaced_transparently(alpha: RestartableServer, idempotent: bool) -> None:
    async def scenario() -> tuple[Any, Any]:
        sabotage = Sabotage()
        client = McpServerClient("alpha", alpha.url + "/mcp", transport=sabotage)
        try:
            await client.list_tools(timeout=5)
            sabotage.armed = True
            try:
                first: Any = await client.call_tool("echo", {"text": "a"}, timeout=5, idempotent=idempotent)
            except ServerUnavailable as error:
                first = error
            second = await client.call_tool("echo", {"text": "b"}, timeout=5)
            return first, second
        finally:
            await client.aclose()

    first, second = anyio.run(scenario)
    if idempotent:
        # Safe to resend: the retry runs on a new SDK client and the caller never sees the crash.
        assert first.result.structured_content == {"text": "a"} and first.attempts == 2
    else:
        assert isinstance(first, ServerUnavailable) and first.reached
        assert str(first) == "alpha MCP server is unreachable (the connection closed)"
    assert second.result.structured_content == {"text": "b"}


class AnswersWithJsonRpcError:
    """In front of a kit server: answers every ``tools/call`` itself, 200 with a JSON-RPC error -32000 (the code
    the TypeScript SDK's servers use for their own errors, and the Python SDK client for a closed connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or dict(scope["headers"]).get(b"mcp-method") != b"tools/call":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        error = {"code": -32000, "message": "Internal failure in the tool host"}
        answer = json.dumps({"jsonrpc": "2.0", "id": json.loads(body)["id"], "error": error}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer})


def test_a_json_rpc_error_the_server_answered_is_a_rejection_not_a_closed_connection() -> None:
    with serve_in_thread(AnswersWithJsonRpcError(mcp_app("alpha", ALPHA_TOOLS))) as url:

        async def scenario() -> tuple[McpServerError, str]:
            client = McpServerClient("alpha", url + "/mcp", breaker=CircuitBreaker(failure_threshold=1))
            try:
                with pytest.raises(McpServerError) as raised:
                    await client.call_tool("echo", {"text": "a"}, timeout=5, idempotent=True)
                return raised.value, client.breaker.state
            finally:
                await client.aclose()

        error, breaker = anyio.run(scenario)
    assert isinstance(error, ServerRejected) and error.attempts == 1, "an answer: not resent"
    assert (
        str(error) == "alpha MCP server rejected the request: JSON-RPC error -32000: Internal failure in the tool host"
    )
    assert breaker == "closed"
