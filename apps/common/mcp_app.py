"""The factory every MCP server is built with: same transport, rules, probes and metrics for all four.

``create_mcp_app`` returns a Starlette app serving:

- ``POST /mcp``: MCP over Streamable HTTP, stateless with JSON responses, so replicas need no sticky
  sessions. The SDK serves both spec revisions on this one endpoint: 2025-11-25 (initialize
  handshake) and 2026-07-28 (per-request, ``server/discover``).
- ``GET /health`` (liveness: the process answers), ``GET /ready`` (readiness: the server's own
  checks), ``GET /metrics`` (Prometheus text).

A server's capability statuses (``capabilities.py``) ride on every ``tools/list`` result instead: they are
never readiness checks.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from mcp.server import MCPServer, Server
from mcp.server.mcpserver.tools import Tool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from apps.common.capabilities import CapabilityCheck, CapabilityMeta
from apps.common.jsonrpc_errors import InvalidRequestErrors
from apps.common.metrics import McpMetrics, ObserveRequests, metrics_endpoint
from apps.common.off_loop_tool import OffLoopTool
from apps.common.security import BearerTokenGuard, transport_security
from apps.common.settings import McpServerSettings
from apps.common.tool_calls import ToolCallGuard, ToolPolicy
from apps.common.tools import ToolDef

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Raises with a short, safe message when the dependency it checks is not usable. Returns None when it is, or a
short note (``"skipped: …"``) when the check does not apply where the server runs; either way the server is ready."""

_READINESS_TIMEOUT_SECONDS = 2.0
MCP_PATH = "/mcp"


@dataclass(frozen=True)
class McpServerSpec:
    """What makes one MCP server different from the others."""

    name: str
    """Short name, used in metrics and logs (``aws``, ``database``, …)."""
    service: str
    """Its Kubernetes Service name; the Host allow-list accepts it."""
    version: str
    instructions: str
    tools: Sequence[ToolDef]
    readiness: Mapping[str, ReadinessCheck] = field(default_factory=dict)
    lifespan: Callable[[], contextlib.AbstractAsyncContextManager[None]] | None = None
    """Opens and closes what the tools share (HTTP clients, connections)."""
    capabilities: CapabilityCheck | None = None
    """What the tools need and whether it is there (``apps.common.capabilities``); ``None``: nothing to report."""


def _abandonable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a blocking tool in a worker thread that a timeout can walk away from.

    The SDK runs sync tools with ``to_thread.run_sync``, which a cancel scope waits out, so a hung
    tool would hang its caller past the timeout. The thread is abandoned, not killed: tools bound
    their own I/O with client timeouts so abandoned threads end soon after.
    """
    if inspect.iscoroutinefunction(fn):
        return fn

    @functools.wraps(fn)
    async def run_in_thread(**kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(functools.partial(fn, **kwargs), abandon_on_cancel=True)

    return run_in_thread


def sdk_tools(tools: Sequence[ToolDef], result_limit: int | None = None) -> list[Tool]:
    """The SDK's tool objects: it derives the input and output schemas from each signature.

    ``OffLoopTool``: a large return value is converted to its result in a worker thread, not on the loop;
    ``result_limit`` is the cap the guard will apply (see off_loop_tool.py).
    """
    return [
        OffLoopTool.from_function(
            _abandonable(tool.fn),
            name=tool.tool_name,
            description=tool.description,
            annotations=tool.annotations,
            structured_output=True,
            result_limit=result_limit,
        )
        for tool in tools
    ]


def _mcp_route(sdk_app: Starlette) -> Route:
    """The SDK's own ``/mcp`` endpoint as a route of ours, behind ``InvalidRequestErrors``.

    One router and one middleware stack per request: mounting the SDK's whole app would pass every call
    through a second Starlette (its error and exception middleware, its router): ~40 us of a ~580 us
    no-op call, measured in process. The SDK's app adds nothing else here: no middleware without SDK
    auth, and its lifespan (the session manager) runs in ours.
    """
    if sdk_app.user_middleware:  # SDK auth would add some: taking the route alone would drop it silently
        raise RuntimeError("the SDK's MCP app carries middleware; mount it whole instead of taking its route")
    (endpoint,) = [r.endpoint for r in sdk_app.routes if isinstance(r, Route) and r.path == MCP_PATH]
    return Route(MCP_PATH, endpoint=InvalidRequestErrors(endpoint))


async def _run_readiness(checks: Mapping[str, ReadinessCheck]) -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    ready = True
    for name, check in checks.items():
        try:
            with anyio.fail_after(_READINESS_TIMEOUT_SECONDS):
                note = await check()
            results[name] = note[:300] if note else "ok"
            continue
        except TimeoutError:
            results[name] = f"timed out after {_READINESS_TIMEOUT_SECONDS:g} s"
        except Exception as exc:  # a readiness probe reports every failure, it never raises
            results[name] = str(exc)[:300] or type(exc).__name__
        ready = False
    return ready, results


def stateless_mcp_asgi(server: MCPServer | Server[Any], settings: McpServerSettings, service: str) -> Starlette:
    """The SDK's Streamable HTTP app as every platform server serves it: stateless, JSON answers, the body capped,
    and only the Host and Origin names of its Service (``service``) accepted."""
    return server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.max_body_bytes,
        transport_security=transport_security(
            service=service,
            namespace=settings.namespace,
            extra_hosts=settings.allowed_hosts,
            allowed_origins=settings.allowed_origins,
        ),
    )


def create_mcp_app(spec: McpServerSpec, settings: McpServerSettings) -> Starlette:
    """Build the ASGI app for one MCP server. Raises ``ConfigurationError`` on bad settings."""
    token = settings.bearer_token()
    tools = sdk_tools(spec.tools, settings.max_result_bytes)
    server: MCPServer = MCPServer(spec.name, version=spec.version, instructions=spec.instructions, tools=tools)
    metrics = McpMetrics(spec.name)
    policies = {
        sdk_tool.name: ToolPolicy.for_tool(
            sdk_tool.name, sdk_tool.parameters, tool.timeout_seconds or settings.tool_timeout_seconds
        )
        for tool, sdk_tool in zip(spec.tools, tools, strict=True)
    }
    server.middleware.append(
        ToolCallGuard(server=spec.name, policies=policies, metrics=metrics, max_result_bytes=settings.max_result_bytes)
    )
    if spec.capabilities is not None:
        server.middleware.append(CapabilityMeta(spec.capabilities))
    mcp_asgi = stateless_mcp_asgi(server, settings, spec.service)

    async def health(_: Request) -> Response:
        return PlainTextResponse("OK")

    async def ready(_: Request) -> Response:
        ok, checks = await _run_readiness(spec.readiness)
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # The SDK's session manager must run inside the host app's lifespan, or /mcp answers 500.
        async with contextlib.AsyncExitStack() as stack:
            if spec.lifespan is not None:
                await stack.enter_async_context(spec.lifespan())
            await stack.enter_async_context(server.session_manager.run())
            yield

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics_endpoint(metrics.registry), methods=["GET"]),
            _mcp_route(mcp_asgi),
        ],
        lifespan=lifespan,
    )
    if token is not None:
        app.add_middleware(BearerTokenGuard, token=token)
    app.add_middleware(ObserveRequests, observe=metrics.observe_request)
    app.state.mcp_server = server
    app.state.metrics = metrics
    return app
