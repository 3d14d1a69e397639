"""The bridge's app: the kit's Streamable HTTP endpoint, probes, metrics and bearer token, over one stdio child.

Built like ``apps/common/mcp_app.py``'s servers (stateless, JSON answers, the same Host allow-list, body
limit, token guard and request metrics), but its tools are not Python functions: they are whatever the
stdio server lists, so the SDK's low-level ``Server`` takes the two handlers of ``proxy.py``. One child
process serves every request of the pod, over one session the SDK multiplexes.

- ``GET /health``: the process answers, and its stdio server has not been given up on (past its restart
  bound, ``/health`` fails so that Kubernetes restarts the pod, with the kubelet's own backoff);
- ``GET /ready``: the stdio server answers an MCP ping;
- ``GET /metrics``, ``POST /mcp``: as every other server.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Mapping

import anyio
from mcp.server import Server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from apps.agent_core.gateway.breaker import CircuitBreaker
from apps.agent_core.gateway.stdio_client import StdioServerClient
from apps.agent_core.gateway.stdio_restarts import RestartPolicy
from apps.common.jsonrpc_errors import InvalidRequestErrors
from apps.common.mcp_app import MCP_PATH, stateless_mcp_asgi
from apps.common.metrics import McpMetrics, ObserveRequests, metrics_endpoint
from apps.common.security import BearerTokenGuard
from apps.mcp_bridge.proxy import ToolProxy
from apps.mcp_bridge.settings import BridgeSettings

log = logging.getLogger("apps.mcp_bridge")
VERSION = "1.0.0"
_READY_TIMEOUT_SECONDS = 2.0


def create_app(settings: BridgeSettings, environ: Mapping[str, str] | None = None) -> Starlette:
    """The bridge for the stdio server ``settings`` names. Raises ``ConfigurationError`` on bad settings."""
    token = settings.bearer_token()
    command = settings.stdio_command(os.environ if environ is None else environ)
    name = settings.bridge_name
    client = StdioServerClient(
        name,
        command=command.command,
        args=list(command.args),
        env=command.env,
        cwd=command.cwd,
        # Each request's own failure is reported to its caller; the restart bound protects the child.
        breaker=CircuitBreaker(failure_threshold=1_000_000),
        restart=RestartPolicy(max_restarts=settings.bridge_max_restarts),
        restarted_by="the bridge",
        start_timeout_seconds=settings.bridge_start_timeout_seconds,
    )
    metrics = McpMetrics(name)
    proxy = ToolProxy(
        client,
        metrics,
        call_timeout=settings.tool_timeout_seconds,
        list_timeout=settings.bridge_start_timeout_seconds,
    )
    server: Server[object] = Server(
        name,
        version=VERSION,
        instructions=f"The {name} MCP server (stdio), served over Streamable HTTP.",
        get_tool_input_schema=proxy.input_schema,
        on_list_tools=proxy.list_tools,
        on_call_tool=proxy.call_tool,
    )
    sdk_app = stateless_mcp_asgi(server, settings, settings.bridge_service)
    (endpoint,) = [r.endpoint for r in sdk_app.routes if isinstance(r, Route) and r.path == MCP_PATH]

    async def health(_: Request) -> Response:
        stopped = client.given_up
        if stopped is not None:
            return PlainTextResponse(f"stdio server {name} is {stopped}", status_code=503)
        return PlainTextResponse("OK")

    async def ready(_: Request) -> Response:
        status = await client.health(timeout=_READY_TIMEOUT_SECONDS)
        check = "ok" if status.reachable else str(status.error)[:300]
        return JSONResponse(
            {"status": "ready" if status.reachable else "not ready", "checks": {"stdio_server": check}},
            status_code=200 if status.reachable else 503,
        )

    async def start() -> None:
        # Started now rather than by the first request: uvx or npx may have to fetch the server first.
        with contextlib.suppress(Exception):
            tools = await proxy.refresh(settings.bridge_start_timeout_seconds)
            log.info("stdio server %s is up with %d tools", name, len(tools), extra={"server": name})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            # The SDK's session manager must run inside the host app's lifespan, or /mcp answers 500.
            await stack.enter_async_context(server.session_manager.run())
            stack.push_async_callback(client.aclose)  # the child is stopped last, after uvicorn's drain
            tasks = await stack.enter_async_context(anyio.create_task_group())
            tasks.start_soon(start)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics_endpoint(metrics.registry), methods=["GET"]),
            Route(MCP_PATH, endpoint=InvalidRequestErrors(endpoint)),
        ],
        lifespan=lifespan,
    )
    if token is not None:
        app.add_middleware(BearerTokenGuard, token=token)
    app.add_middleware(ObserveRequests, observe=metrics.observe_request)
    app.state.stdio_client = client
    app.state.metrics = metrics
    return app
