"""``McpGateway``: the agent core's ``ToolGateway`` over every configured MCP server.

One ``McpServerClient`` per server (a pooled connection set, a breaker, retries) and one
``ToolCatalog`` over them all. ``call`` never raises for a tool's or a server's failure: it returns
``ok=False`` with a message that names the server and what happened, e.g. "database MCP server is
unreachable (connection refused) after 3 attempts; circuit open for 10 s". A tool's own error result keeps
what its server said of retrying it (``ToolOutcome.retryable``); the gateway never resends such a result.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Protocol, cast

from mcp_types import CallToolResult, RequestParamsMeta

from apps.agent_core.gateway.base import IDEMPOTENCY_KEY_META, ServerHealth, ServerStatus
from apps.agent_core.gateway.breaker import CircuitBreaker
from apps.agent_core.gateway.catalog import ToolCatalog, ToolListing
from apps.agent_core.gateway.config import SERVER_NAME, parse_mcp_servers, url_problem
from apps.agent_core.gateway.content import result_text, step_result
from apps.agent_core.gateway.errors import CircuitOpen, McpServerError, ServerRejected, ServerUnavailable
from apps.agent_core.gateway.mcp_server_client import CalledTool, McpServerClient
from apps.agent_core.gateway.negotiation import Negotiated
from apps.agent_core.gateway.progress import OnProgress
from apps.agent_core.gateway.retry import CallRetryPolicy
from apps.agent_core.gateway.servers_file import RemoteServer, ServerEntry
from apps.agent_core.model import ToolCall, ToolOutcome, ToolSpec
from apps.common.tools import RETRYABLE_META

__all__ = ["McpGateway", "parse_mcp_servers"]

log = logging.getLogger(__name__)
_UNKNOWN_TOOL = re.compile(r"unknown tool", re.IGNORECASE)


class ServerClient(Protocol):
    """What the gateway needs of one server's client: ``McpServerClient`` (Streamable HTTP) and
    ``StdioServerClient`` (a child process) both are one."""

    name: str
    breaker: CircuitBreaker

    @property
    def url(self) -> str: ...

    @property
    def negotiated(self) -> Negotiated | None: ...

    async def list_tools(self, *, timeout: float) -> list[ToolSpec]: ...

    async def listing(self, *, timeout: float) -> ToolListing: ...

    async def call_tool(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        timeout: float,
        max_seconds: float | None = None,
        idempotent: bool = False,
        meta: RequestParamsMeta | None = None,
        on_progress: OnProgress | None = None,
    ) -> CalledTool: ...

    async def health(self, *, timeout: float) -> ServerHealth: ...

    async def aclose(self) -> None: ...


class McpGateway:
    """Implements ``ToolGateway``; create it anywhere, use and close it on one event loop.

    ``servers`` maps each name to a bare URL (one of the platform's own servers, from ``AGENTIC_MCP_SERVERS``:
    it is sent ``token`` as a bearer token) or to an entry of the servers file (sent only the headers it names,
    started as a child process if it is a stdio entry; its ``timeout_seconds`` and ``tools`` apply here).
    """

    def __init__(
        self,
        servers: Mapping[str, str | ServerEntry],
        *,
        token: str | None = None,
        catalog_ttl_seconds: float = 60.0,
        call_timeout_seconds: float = 30.0,
        max_call_seconds: float = 900.0,
        list_timeout_seconds: float = 10.0,
        health_timeout_seconds: float = 2.0,
        connect_timeout_seconds: float = 2.0,
        retry: CallRetryPolicy | None = None,
        failure_threshold: int = 3,
        reset_timeout_seconds: float = 10.0,
        max_connections_per_server: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        bearer = {"Authorization": f"Bearer {token}"} if token else {}
        self._entries = {
            name: RemoteServer(url=server, headers=bearer) if isinstance(server, str) else server
            for name, server in servers.items()
        }
        for name, entry in self._entries.items():
            if not SERVER_NAME.fullmatch(name):
                raise ValueError(f"server name {name!r} may use only a-z, 0-9, '_' and '-'")
            if isinstance(entry, RemoteServer) and (problem := url_problem(entry.url, shown=entry.shown)):
                raise ValueError(f"server {name!r}: {problem}")
        self._call_timeout = call_timeout_seconds
        self._max_call_seconds = max_call_seconds
        self._health_timeout = health_timeout_seconds
        self._clients = {
            name: _connect(
                name,
                entry,
                breaker=CircuitBreaker(
                    failure_threshold=failure_threshold, reset_timeout=reset_timeout_seconds, clock=clock
                ),
                retry=retry,
                connect_timeout=connect_timeout_seconds,
                max_connections=max_connections_per_server,
            )
            for name, entry in self._entries.items()
        }
        self._catalog = ToolCatalog(
            {name: functools.partial(self._list_tools, name, list_timeout_seconds) for name in self._clients},
            ttl_seconds=catalog_ttl_seconds,
            clock=clock,
        )
        self._allow_list_warned: set[str] = set()

    @property
    def servers(self) -> dict[str, str]:
        return {name: entry.shown for name, entry in self._entries.items()}

    def client(self, server: str) -> ServerClient:
        """The client of one server (its breaker, its URL); ``KeyError`` for an unknown name."""
        return self._clients[server]

    def call_timeout(self, server: str) -> float:
        """How long a call of this server's tools waits when the caller names no timeout: the servers file's
        ``timeout_seconds`` for it, else the gateway's own."""
        entry = self._entries.get(server)
        return entry.timeout_seconds if entry is not None and entry.timeout_seconds else self._call_timeout

    async def _list_tools(self, server: str, timeout: float) -> ToolListing:
        """The server's tools; with an allow-list (the servers file's ``tools``), only those it names."""
        listing = await self._clients[server].listing(timeout=timeout)
        allowed = self._entries[server].tools
        if allowed is None:
            return listing
        missing = sorted(set(allowed) - {tool.name for tool in listing.tools})
        if missing and server not in self._allow_list_warned:
            self._allow_list_warned.add(server)  # once: a misspelt name stays misspelt until the file changes
            log.warning("the %s MCP server lists no tool named %s, allowed by the servers file", server, missing)
        return ToolListing([tool for tool in listing.tools if tool.name in allowed], listing.capabilities)

    async def tools(self, *, refresh: bool = False) -> list[ToolSpec]:
        return await self._catalog.tools(refresh=refresh)

    def server_statuses(self) -> list[ServerStatus]:
        statuses = []
        for name, client in self._clients.items():
            failure = self._catalog.failure(name)
            negotiated = client.negotiated
            entry = self._entries[name]
            statuses.append(
                ServerStatus(
                    server=name,
                    url=entry.shown,
                    headers=_header_names(entry),
                    transport=entry.transport,
                    reachable=failure is None and negotiated is not None,
                    protocol_version=negotiated.protocol_version if negotiated else None,
                    session=negotiated.session if negotiated else False,
                    tools=self._catalog.count(name),
                    capabilities=self._catalog.capabilities(name),
                    failure=failure.kind if failure else None,
                    error=str(failure) if failure else None,
                )
            )
        return statuses

    async def call(
        self,
        call: ToolCall,
        *,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        on_progress: OnProgress | None = None,
    ) -> ToolOutcome:
        started = time.perf_counter()

        def outcome(
            *,
            ok: bool,
            result: Any = None,
            error: str | None = None,
            attempts: int = 1,
            retryable: bool | None = None,
        ) -> ToolOutcome:
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            return ToolOutcome(
                call_id=call.id,
                ok=ok,
                result=result,
                error=error,
                duration_ms=duration_ms,
                attempts=attempts,
                retryable=retryable,
            )

        client = self._clients.get(call.server)
        if client is None:
            known = ", ".join(self._clients) or "none"
            return outcome(ok=False, error=f"unknown MCP server {call.server!r} (configured: {known})", attempts=0)
        allowed = self._entries[call.server].tools
        if allowed is not None and call.tool not in allowed:
            return outcome(
                ok=False,
                error=f"unknown tool {call.server}.{call.tool}: not allowed by the servers file "
                f"(allowed: {', '.join(allowed)})",
                attempts=0,
            )
        # Annotations decide whether a call that may have reached its tool can be resent. Only the cached
        # catalog is consulted, never loaded, so a call stays one request; unknown means not idempotent.
        spec = self._catalog.cached(call.server, call.tool)
        try:
            called = await client.call_tool(
                call.tool,
                call.arguments,
                timeout=timeout if timeout is not None else self.call_timeout(call.server),
                max_seconds=self._max_call_seconds,
                idempotent=spec is not None and spec.idempotent,
                meta=_idempotency_meta(idempotency_key),
                on_progress=on_progress,
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
            return outcome(
                ok=False,
                error=text or "the tool failed without a message",
                attempts=called.attempts,
                retryable=_said_retryable(result),
            )
        return outcome(ok=True, result=step_result(result), attempts=called.attempts)

    async def health(self) -> list[ServerHealth]:
        """Every server probed at once over MCP, with the tool count its last listing gave."""
        reports = await asyncio.gather(*(c.health(timeout=self._health_timeout) for c in self._clients.values()))
        described = []
        for report in reports:
            # Each server as configured, whatever its client shows: header names only, a file entry as written.
            entry = self._entries[report.server]
            update = {"url": entry.shown, "headers": _header_names(entry), "transport": entry.transport}
            name = report.server
            listed = {"tools": self._catalog.count(name), "capabilities": self._catalog.capabilities(name)}
            described.append(report.model_copy(update={**update, **listed}))
        return described

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients.values()))

    async def __aenter__(self) -> McpGateway:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _idempotency_meta(key: str | None) -> RequestParamsMeta | None:
    if not key:
        return None
    # An open map (extra_items=Any), which mypy cannot yet express for a key held in a constant.
    return cast(RequestParamsMeta, {IDEMPOTENCY_KEY_META: key})


def _said_retryable(result: CallToolResult) -> bool | None:
    """What an error result's server said of retrying it; ``None`` when it said nothing a boolean."""
    said = (result.meta or {}).get(RETRYABLE_META)
    return said if isinstance(said, bool) else None


def _header_names(entry: ServerEntry) -> list[str]:
    """What reports may say about a server's credentials: the names of its headers, never their values."""
    return sorted(entry.headers) if isinstance(entry, RemoteServer) else []


def _connect(
    name: str,
    entry: ServerEntry,
    *,
    breaker: CircuitBreaker,
    retry: CallRetryPolicy | None,
    connect_timeout: float,
    max_connections: int,
) -> ServerClient:
    if isinstance(entry, RemoteServer):
        return McpServerClient(
            name,
            entry.url,
            headers=entry.headers,
            breaker=breaker,
            retry=retry,
            connect_timeout=connect_timeout,
            max_connections=max_connections,
        )
    # Imported only when a stdio server is configured: the child-process machinery stays out of the others.
    from apps.agent_core.gateway.stdio_client import StdioServerClient

    return StdioServerClient(
        name,
        command=entry.command,
        args=list(entry.args),
        env=dict(entry.env),
        cwd=entry.cwd,
        breaker=breaker,
        retry=retry,
    )
