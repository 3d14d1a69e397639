"""The MCP server at ``/api/mcp``: the SDK's low-level server, stateless, behind the API's keys.

The SDK serves both revisions on the one path (2025-11-25 with its handshake, 2026-07-28 per request), as
our MCP servers do (``apps/common/mcp_app.py``), with one difference: answers may stream (SSE), because a
call that waits for approval sends progress notifications while it waits.

Who is calling is decided before the SDK sees the request, by the same rule as every ``/api`` route
(``api/http.py``'s ``principal``: 401 without a valid key, local mode only on loopback); the handlers read
the principal from the request's scope. The SDK's own Host check is off: the API's rule covers local mode,
and behind the ALB the Host is whatever the Ingress serves.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListResourcesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
    TextContent,
)
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from apps.agent_core.api.http import principal
from apps.agent_core.auth import Principal
from apps.agent_core.mcp_endpoint import calls, resources
from apps.agent_core.mcp_endpoint.calls import CallLimits
from apps.agent_core.mcp_endpoint.catalog import offers
from apps.agent_core.model import RunTrigger
from apps.agent_core.runs.errors import DrainingError, RunRequestError
from apps.agent_core.runs.service import RunService

PATH = "/api/mcp"
_PRINCIPAL_KEY = "agentic-workflows.principal"
INSTRUCTIONS = (
    "The Agentic Workflows Platform: every tool of its MCP servers as <server>__<tool>, its workflow templates as "
    "template__<id>, and run_task for a task in plain words. Each call is a run (run://<id>); calls that change "
    "things wait for a person's approval."
)


_AN_OPERATOR = Principal("operator", frozenset({"operator"}))
"""Only to tell "not yours to call" from "no such tool"."""


def _refused(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=message)], is_error=True)


def _who(ctx: ServerRequestContext[Any, Any]) -> Principal:
    request = ctx.request
    found = request.scope.get(_PRINCIPAL_KEY) if isinstance(request, Request) else None
    if not isinstance(found, Principal):  # only reachable if the SDK were served without McpEndpoint in front
        raise MCPError(INVALID_PARAMS, "no caller: the endpoint is served without its authentication")
    return found


def _client_name(ctx: ServerRequestContext[Any, Any]) -> str | None:
    params = ctx.session.client_params
    return params.client_info.name[:200] if params is not None else None


class McpEndpoint:
    """The ASGI app at ``/api/mcp``; ``running()`` belongs in the host app's lifespan."""

    def __init__(self, service: RunService, limits: CallLimits, version: str) -> None:
        self.service = service
        self.limits = limits
        self.server: Server[Any] = Server(
            "agentic-workflows",
            version=version,
            title="Agentic Workflows Platform",
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_read_resource=self._read_resource,
        )
        self.sessions = StreamableHTTPSessionManager(
            app=self.server,
            json_response=False,
            stateless=True,
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._sdk_app = StreamableHTTPASGIApp(self.sessions)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.sessions.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The role first, as for every /api route: without it a caller learns nothing of the protocol.
        scope[_PRINCIPAL_KEY] = principal(Request(scope), "viewer")
        await self._sdk_app(scope, receive, send)

    async def _list_tools(
        self, ctx: ServerRequestContext[Any, Any], _: PaginatedRequestParams | None
    ) -> ListToolsResult:
        listing = await self.service.tools()
        return ListToolsResult(
            tools=[offer.tool for offer in offers(listing.tools, _who(ctx), self.service.policy).values()]
        )

    async def _call_tool(self, ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams) -> CallToolResult:
        who = _who(ctx)
        listing = await self.service.tools()
        offer = offers(listing.tools, who, self.service.policy).get(params.name)
        if offer is None:
            if params.name in offers(listing.tools, _AN_OPERATOR, self.service.policy):
                return _refused(f"the key '{who.name}' does not have the operator role {params.name} needs")
            raise MCPError(INVALID_PARAMS, f"unknown tool {params.name[:200]!r}: tools/list lists those you may call")
        trigger = RunTrigger(kind="mcp", name=_client_name(ctx), detail={"tool": params.name})
        try:
            header = await calls.start(self.service, offer, dict(params.arguments or {}), who, trigger)
        except RunRequestError as exc:
            return _refused("; ".join(map(str, exc.problems)))
        except DrainingError as exc:
            return _refused(str(exc))

        async def progress(elapsed: float, total: float | None, message: str) -> None:
            await ctx.session.report_progress(elapsed, total, message)

        view = await calls.wait(self.service, header.id, self.limits, progress)
        return calls.answer(offer, view, self.limits)

    async def _list_resources(
        self, _: ServerRequestContext[Any, Any], __: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        return await resources.list_runs(self.service)

    async def _read_resource(
        self, _: ServerRequestContext[Any, Any], params: ReadResourceRequestParams
    ) -> ReadResourceResult:
        return await resources.read_run(self.service, str(params.uri))
