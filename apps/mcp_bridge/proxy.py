"""The bridge's two MCP handlers: ``tools/list`` and ``tools/call``, passed to the stdio server as they come.

Tools are passed on exactly as the stdio server describes them (schemas, annotations, titles): the agent
core reads its approval and retry rules from those annotations, so the bridge must not change them. A
call is made with the agent core's rule for resending (``retry.py``): only a tool the server annotates
read-only or idempotent may be sent again after its process died under it. What the stdio server
answers (its own ``isError`` results included) goes back unchanged; a failure of the process itself is
a JSON-RPC error naming it, so the agent core reports it and never mistakes it for the tool's answer.

Results are not cut here: the agent core caps what it stores and shows, keeping every content type.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    RequestParamsMeta,
    TextContent,
    Tool,
)

from apps.agent_core.gateway.catalog import tool_spec
from apps.agent_core.gateway.errors import CallTimedOut, McpServerError
from apps.agent_core.gateway.stdio_client import StdioServerClient
from apps.common.metrics import McpMetrics

log = logging.getLogger("apps.tool_calls")
_PROTOCOL_META = "io.modelcontextprotocol/"
_PROGRESS_TOKEN = ("progress_token", "progressToken")


class ToolProxy:
    def __init__(
        self, client: StdioServerClient, metrics: McpMetrics, *, call_timeout: float, list_timeout: float
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._call_timeout = call_timeout
        self._list_timeout = list_timeout
        self._tools: dict[str, Tool] = {}
        """As last listed: their annotations decide what may be resent, their names what metrics may label."""

    async def list_tools(
        self, _ctx: ServerRequestContext[Any], _params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        tools = await self.refresh(self._list_timeout)
        return ListToolsResult(tools=tools)

    def input_schema(self, name: str) -> dict[str, Any] | None:
        """The tool's input schema as last listed, for the SDK's ``Mcp-Param-*`` header check on 2026-07-28.

        Without it the SDK runs the ``tools/list`` handler before every such call: a listing by the child each time.
        """
        tool = self._tools.get(name)
        return tool.input_schema if tool is not None else None

    async def refresh(self, timeout: float) -> list[Tool]:
        """The stdio server's tools, all pages, listed now; a failure is a JSON-RPC error naming it."""
        try:
            tools = await self._client.list_mcp_tools(timeout=timeout)
        except McpServerError as error:
            raise MCPError(INTERNAL_ERROR, str(error)) from None
        self._tools = {tool.name: tool for tool in tools}
        return tools

    async def call_tool(self, ctx: ServerRequestContext[Any], params: CallToolRequestParams) -> CallToolResult:
        started = time.perf_counter()
        known = self._tools.get(params.name)
        # Unknown names are not used as a label: callers must not be able to grow the metric series.
        label = params.name if known is not None else "unknown"
        outcome = "exception"
        try:
            called = await self._client.call_tool(
                params.name,
                params.arguments or {},
                timeout=self._call_timeout,
                idempotent=known is not None and tool_spec(self._client.name, known).idempotent,
                meta=_forwarded(ctx.meta),
            )
            outcome = "error" if called.result.is_error else "ok"
            return called.result
        except CallTimedOut:
            outcome = "timeout"
            text = f"{params.name} gave no answer within {self._call_timeout:g} s and may still be running."
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        except McpServerError as error:
            outcome = "unavailable"
            raise MCPError(INTERNAL_ERROR, str(error)) from None
        finally:
            duration = self._metrics.record_tool_call(label, outcome, started)
            log.info(
                "tool call",
                extra={
                    "server": self._client.name,
                    "tool": label,
                    "outcome": outcome,
                    "duration_ms": round(duration * 1000, 3),
                    "request_id": None if ctx.request_id is None else str(ctx.request_id),
                },
            )


def _forwarded(meta: RequestParamsMeta | None) -> RequestParamsMeta | None:
    """The caller's ``_meta`` for the stdio server: its own keys (the idempotency key), not the protocol's.

    The protocol's keys describe the HTTP request (its revision, the caller's capabilities), not the stdio
    session, which may speak another revision; the progress token is the bridge's own on that session.
    """
    if not meta:
        return None
    kept = {k: v for k, v in meta.items() if not k.startswith(_PROTOCOL_META) and k not in _PROGRESS_TOKEN}
    return RequestParamsMeta(**kept) if kept else None  # type: ignore[typeddict-item]
