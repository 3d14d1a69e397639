"""``McpGateway``: the agent core's ``ToolGateway`` over every configured MCP server.

One ``McpServerClient`` per server (a pooled connection set, a breaker, retries) and one
``ToolCatalog`` over them all. ``call`` never raises for a tool's or a server's failure: it returns
``ok=False`` with a message that names the server and what happened, e.g. "database MCP server is
unreachable (connection refused) after 3 attempts; circuit open for 10 s".
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, cast

from mcp_types import CallToolResult, RequestParamsMeta

from apps.agent_core.gateway.base import IDEMPOTENCY_KEY_META, ServerHealth, ServerStatus
from apps.agent_core.gateway.breaker import CircuitBreaker
from apps.agent_core.gateway.catalog import ToolCatalog
from apps.agent_core.gateway.config import SERVER_NAME, parse_mcp_servers, url_problem
from apps.agent_core.gateway.errors import CircuitOpen, McpServerError, ServerRejected, ServerUnavailable
from apps.agent_core.gateway.mcp_server_client import McpServerClient
from apps.agent_core.gateway.retry import CallRetryPolicy
from apps.agent_core.model import ToolCall, ToolOutcome, ToolSpec

__all__ = ["McpGateway", "parse_mcp_servers"]

log = logging.getLogger(__name__)
_UNKNOWN_TOOL = re.compile(r"unknown tool", re.IGNORECASE)


class McpGateway:
    """Implements ``ToolGateway``; create it anywhere, use and close it on one event loop."""

    def __init__(
        self,
        servers: Mapping[str, str],
        *,
        token: str | None = None,
        catalog_ttl_seconds: float = 60.0,
        call_timeout_seconds: float = 30.0,
        list_timeout_seconds: float = 10.0,
        health_timeout_seconds: float = 2.0,
        connect_timeout_seconds: float = 2.0,
        retry: CallRetryPolicy | None = None,
        failure_threshold: int = 3,
        reset_timeout_seconds: float = 10.0,
        max_connections_per_server: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, url in servers.items():
            if not SERVER_NAME.fullmatch(name):
                raise ValueError(f"server name {name!r} may use only a-z, 0-9, '_' and '-'")
            if (problem := url_problem(url)) is not None:
                raise ValueError(f"server {name!r}: {problem}")
        self._call_timeout = call_timeout_seconds
        self._health_timeout = health_timeout_seconds
        self._clients = {
            name: McpServerClient(
                name,
                url,
                token=token,
                breaker=CircuitBreaker(
                    failure_threshold=failure_threshold, reset_timeout=reset_timeout_seconds, clock=clock
                ),
                retry=retry,
                connect_timeout=connect_timeout_seconds,
                max_connections=max_connections_per_server,
            )
            for name, url in servers.items()
        }
        self._catalog = ToolCatalog(
            {
                name: functools.partial(client.list_tools, timeout=list_timeout_seconds)
                for name, client in self._clients.items()
            },
            ttl_seconds=catalog_ttl_seconds,
            clock=clock,
        )

    @property
    def servers(self) -> dict[str, str]:
        return {name: client.url for name, client in self._clients.items()}

    def client(self, server: str) -> McpServerClient:
        """The client of one server (its breaker, its URL); ``KeyError`` for an unknown name."""
        return self._clients[server]

    async def tools(self, *, refresh: bool = False) -> list[ToolSpec]:
        return await self._catalog.tools(refresh=refresh)

    def server_statuses(self) -> list[ServerStatus]:
        statuses = []
        for name, client in self._clients.items():
            failure = self._catalog.failure(name)
            negotiated = client.negotiated
            statuses.append(
                ServerStatus(
                    server=name,
                    url=client.url,
                    reachable=failure is None and negotiated is not None,
                    protocol_version=negotiated.protocol_version if negotiated else None,
                    session=negotiated.session if negotiated else False,
                    tools=self._catalog.count(name),
                    failure=failure.kind if failure else None,
                    error=str(failure) if failure else None,
                )
            )
        return statuses

    async def call(
        self, call: ToolCall, *, timeout: float | None = None, idempotency_key: str | None = None
    ) -> ToolOutcome:
        started = time.perf_counter()

        def outcome(*, ok: bool, result: Any = None, error: str | None = None, attempts: int = 1) -> ToolOutcome:
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            return ToolOutcome(
                call_id=call.id, ok=ok, result=result, error=error, duration_ms=duration_ms, attempts=attempts
            )

        client = self._clients.get(call.server)
        if client is None:
            known = ", ".join(self._clients) or "none"
            return outcome(ok=False, error=f"unknown MCP server {call.server!r} (configured: {known})", attempts=0)
        # Annotations decide whether a call that may have reached its tool can be resent. Only the cached
        # catalog is consulted, never loaded, so a call stays one request; unknown means not idempotent.
        spec = self._catalog.cached(call.server, call.tool)
        try:
            called = await client.call_tool(
                call.tool,
                call.arguments,
                timeout=timeout if timeout is not None else self._call_timeout,
                idempotent=spec is not None and spec.idempotent,
                meta=_idempotency_meta(idempotency_key),
            )
        except McpServerError as error:
            unknown_tool = isinstance(error, ServerRejected) and error.unknown_tool
            if unknown_tool or isinstance(error, ServerUnavailable | CircuitOpen):
                self._catalog.invalidate(call.server)
            return outcome(ok=False, error=str(error), attempts=error.attempts)
        except Exception as exc:  # the contract: failures come back as outcomes, never as exceptions
            log.exception("unexpected error calling %s.%s", call.server, call.tool)
            return outcome(ok=False, error=f"{call.server} MCP server: unexpected error ({type(exc).__name__})")
        result = called.result
        if result.is_error:
            text = result_text(result)
            if _UNKNOWN_TOOL.search(text):
                self._catalog.invalidate(call.server)
            return outcome(ok=False, error=text or "the tool failed without a message", attempts=called.attempts)
        value = result.structured_content if result.structured_content is not None else result_text(result)
        return outcome(ok=True, result=value, attempts=called.attempts)

    async def health(self) -> list[ServerHealth]:
        """Every server probed at once over MCP, with the tool count its last listing gave."""
        reports = await asyncio.gather(*(c.health(timeout=self._health_timeout) for c in self._clients.values()))
        return [report.model_copy(update={"tools": self._catalog.count(report.server)}) for report in reports]

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients.values()))

    async def __aenter__(self) -> McpGateway:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def result_text(result: CallToolResult) -> str:
    """The text content of a result; other content kinds are named, not inlined."""
    parts: list[str] = []
    for block in result.content:
        text = getattr(block, "text", None)
        parts.append(text if isinstance(text, str) else f"[{block.type} content]")
    return "\n".join(parts)


def _idempotency_meta(key: str | None) -> RequestParamsMeta | None:
    if not key:
        return None
    # An open map (extra_items=Any), which mypy cannot yet express for a key held in a constant.
    return cast(RequestParamsMeta, {IDEMPOTENCY_KEY_META: key})
