"""One MCP server: one pooled HTTP connection set and one SDK client, kept open for the process lifetime.

The client negotiates the protocol revision with each server (``negotiation.py``) and remembers it.
Our own servers settle on the stateless 2026-07-28 revision: no handshake, no session, so a server
restart or another replica behind the Service changes nothing, and once the tools are listed (the SDK
needs each tool's output schema to validate results, and lists them by itself if it has not) every
tool call is exactly one HTTP request on a pooled keep-alive connection. Servers on an older revision
get the ``initialize`` handshake and, if they keep sessions, a session, which is opened again once,
transparently, when the server loses it: that request never reached a tool, so resending it is safe.

Calls pass the server's circuit breaker, then the retry loop (``retry.py``), all under one deadline
that a tool's progress reports move on (``progress.py``); every failure comes out as an
``McpServerError`` (``errors.py``). If the SDK client dies anyway (an unexpected error in
its transport), the next request makes a new one on the same connection pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import httpx2
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, CallToolResult, RequestParamsMeta, Tool
from pydantic import ValidationError

from apps.agent_core.gateway.base import ServerHealth
from apps.agent_core.gateway.breaker import BreakerOpenError, CircuitBreaker
from apps.agent_core.gateway.catalog import ToolListing, tool_listing
from apps.agent_core.gateway.errors import (
    CallTimedOut,
    CircuitOpen,
    McpServerError,
    ProtocolMismatch,
    ServerRejected,
    ServerUnavailable,
)
from apps.agent_core.gateway.mcp_session import HeldClient, open_held_client
from apps.agent_core.gateway.negotiation import Negotiated, revision_refused, session_lost
from apps.agent_core.gateway.progress import CallDeadline, DeadlinePassed, OnProgress
from apps.agent_core.gateway.retry import CallRetryPolicy, may_retry, with_retries
from apps.agent_core.gateway.transport import Exchange, ObservingTransport, observe, status_text
from apps.agent_core.model import ToolSpec

log = logging.getLogger(__name__)
T = TypeVar("T")

_MAX_TOOL_PAGES = 50
"""A server whose tools/list pagination never ends must not hang the catalog."""
_UNKNOWN_TOOL = re.compile(r"unknown tool", re.IGNORECASE)
_RESULT_ERRORS = (ValidationError, RuntimeError, anyio.ClosedResourceError, anyio.BrokenResourceError)


@dataclass(frozen=True)
class CalledTool:
    result: CallToolResult
    """The tool's answer, which may be its own error (``is_error``)."""
    attempts: int


class _Reconnect(Exception):
    """The request was refused before it reached anything (a lost session, a revision the server dropped):
    open a new SDK client and send it once more."""

    def __init__(self, reason: str, error: McpServerError) -> None:
        super().__init__(reason)
        self.error = error
        """What to report if sending it once more does not help."""


class McpServerClient:
    """Reaches one MCP server; safe for many concurrent calls from any task of one event loop."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        breaker: CircuitBreaker | None = None,
        retry: CallRetryPolicy | None = None,
        connect_timeout: float = 2.0,
        max_connections: int = 32,
        keepalive_expiry: float = 4.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.breaker = breaker or CircuitBreaker()
        self.retry = retry or CallRetryPolicy()
        # Idle connections are dropped before uvicorn's 5 s keep-alive timeout would close them under a
        # request: a request lost in that race may have reached the tool, so it could not be retried.
        limits = httpx2.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
        )
        inner = transport or httpx2.AsyncHTTPTransport(limits=limits, retries=0, trust_env=False)
        self._http = httpx2.AsyncClient(
            transport=ObservingTransport(inner, connect_timeout=connect_timeout),
            # Sent on every request to this server only: each server gets its own credentials, never another's.
            headers=dict(headers) if headers else None,
            # No read timeout here: every request runs under its call's own deadline (progress.CallDeadline).
            timeout=httpx2.Timeout(connect=connect_timeout, read=None, write=30.0, pool=connect_timeout),
            # Service-to-service traffic: a proxy from the environment (meant for AWS) must not capture it,
            # and every request must pass the observing transport above.
            trust_env=False,
        )
        self._held: HeldClient | None = None
        self._negotiated: Negotiated | None = None
        self._opening = asyncio.Lock()
        self._closed = False

    @property
    def negotiated(self) -> Negotiated | None:
        """The revision the server settled on (and whether it keeps sessions); ``None`` until it is met."""
        return self._negotiated

    async def list_tools(self, *, timeout: float) -> list[ToolSpec]:
        """Every tool the server lists (all pages); listing is always safe to retry."""
        return (await self.listing(timeout=timeout)).tools

    async def listing(self, *, timeout: float) -> ToolListing:
        """The tools and what the server says about them and itself (``_meta``: capability statuses)."""
        (tools, meta), _ = await self._request(self._list_all, deadline=CallDeadline(timeout), idempotent=True)
        return tool_listing(self.name, tools, meta)

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
    ) -> CalledTool:
        """One ``tools/call``; ``idempotent`` (from the tool's annotations) allows retries that may resend it.

        It carries a progress token: each progress report moves the ``timeout`` on, up to ``max_seconds``
        after the call began (``progress.py``), and is passed to ``on_progress``.
        """
        deadline = CallDeadline(timeout, max_seconds, on_progress=on_progress)

        async def call(client: Client) -> CallToolResult:
            return await client.call_tool(tool, arguments, progress_callback=deadline.progress_callback, meta=meta)

        result, attempts = await self._request(call, deadline=deadline, idempotent=idempotent)
        return CalledTool(result, attempts)

    async def health(self, *, timeout: float) -> ServerHealth:
        """An MCP round trip, timed: ``server/discover`` on 2026-07-28, ``ping`` on older revisions (which
        opens the session first if there is none). It does not pass (or move) the breaker."""
        started = time.perf_counter()
        probe: str | None = None
        failure: McpServerError | None = None
        if self._closed:
            failure = McpServerError(self.name, "the gateway is closed", attempts=0)
        else:
            try:
                with anyio.fail_after(timeout):
                    probe = await self._exchange(_probe)
            except TimeoutError:
                failure = CallTimedOut(self.name, timeout, attempts=1)
            except McpServerError as error:
                failure = error
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        negotiated = self._negotiated
        return ServerHealth(
            server=self.name,
            url=self.url,
            reachable=failure is None,
            protocol_version=negotiated.protocol_version if negotiated else None,
            session=negotiated.session if negotiated else False,
            latency_ms=latency_ms if failure is None else None,
            probe=probe,
            breaker=self.breaker.state,
            failure=failure.kind if failure else None,
            error=_health_error(failure) if failure else None,
        )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._held is not None:
            await self._held.stop()
            self._held = None
        await self._http.aclose()

    async def _list_all(self, client: Client) -> tuple[list[Tool], dict[str, Any] | None]:
        """Every page's tools, and the first page's ``_meta`` (where a server describes itself)."""
        tools: list[Tool] = []
        meta: dict[str, Any] | None = None
        cursor: str | None = None
        for number in range(_MAX_TOOL_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            meta = page.meta if number == 0 else meta
            cursor = page.next_cursor
            if cursor is None:
                return tools, meta
        raise ServerRejected(self.name, f"tools/list still had more pages after {_MAX_TOOL_PAGES}")

    async def _request(
        self, operation: Callable[[Client], Awaitable[T]], *, deadline: CallDeadline, idempotent: bool
    ) -> tuple[T, int]:
        if self._closed:
            raise McpServerError(self.name, "the gateway is closed", attempts=0)
        attempts = 0

        async def attempt(number: int) -> T:
            nonlocal attempts
            attempts = number
            return await self._attempt(operation)

        def retryable(error: McpServerError) -> bool:
            # Once the breaker is open, a retry would only fail fast: report the real failure now.
            return may_retry(error, idempotent=idempotent) and self.breaker.state == "closed"

        try:
            with deadline.running():
                result = await with_retries(
                    attempt,
                    policy=self.retry,
                    retryable=retryable,
                    deadline=deadline.until,
                    clock=anyio.current_time,
                )
                return result, attempts
        except DeadlinePassed:
            raise deadline.timed_out(self.name, attempts=attempts) from None
        except McpServerError as error:
            if not isinstance(error, CircuitOpen) and self.breaker.state == "open":
                error.note = f"circuit open for {round(self.breaker.retry_after(), 1):g} s"
            raise

    async def _attempt(self, operation: Callable[[Client], Awaitable[T]]) -> T:
        try:
            permit = self.breaker.acquire()
        except BreakerOpenError as exc:
            raise CircuitOpen(self.name, exc.retry_after, exc.last_failure) from None
        try:
            result = await self._exchange(operation)
        except ServerUnavailable as error:
            if error.counts_against_server:
                self.breaker.failure(permit, error.detail)
            else:
                self.breaker.release(permit)
            raise
        except McpServerError:
            self.breaker.success(permit)  # it answered (a rejection, a protocol mismatch): the server is up
            raise
        except BaseException:
            self.breaker.release(permit)  # cancelled (the call's timeout): says nothing about the server
            raise
        self.breaker.success(permit)
        return result

    async def _exchange(self, operation: Callable[[Client], Awaitable[T]]) -> T:
        """Run ``operation`` on the held client; after a lost session, once more on a new one."""
        with observe() as exchange:
            try:
                return await self._once(operation, exchange)
            except _Reconnect as first:
                log.info("%s MCP server: %s; sending the request again on a new client", self.name, first)
            try:
                return await self._once(operation, exchange)
            except _Reconnect as second:
                raise second.error from None

    async def _once(self, operation: Callable[[Client], Awaitable[T]], exchange: Exchange) -> T:
        held = await self._client(exchange)
        try:
            return await operation(held.client)
        except MCPError as exc:
            error = self._classify(exc, exchange, held)
        except _RESULT_ERRORS as exc:
            if not held.alive:
                await self._discard(held)
                raise ServerUnavailable(self.name, "the connection broke", reached=True) from exc
            # The SDK checks results against the tool's output schema and raises RuntimeError.
            raise ServerRejected(self.name, f"invalid result: {str(exc)[:300]}") from exc
        if isinstance(error, _Reconnect):
            await self._discard(held)
        raise error

    def _classify(self, exc: MCPError, exchange: Exchange, held: HeldClient) -> McpServerError | _Reconnect:
        if (failure := exchange.failure) is not None:
            return ServerUnavailable(
                self.name, failure.detail, reached=failure.reached, counts_against_server=failure.counts_against_server
            )
        status = exchange.status
        if status in (502, 503, 504):
            # A proxy's 503 means no upstream took the request; after 502 or 504 the tool may have run.
            return ServerUnavailable(self.name, status_text(status), reached=status != 503)
        if status is not None and status >= 400:
            # The server answered: a JSON-RPC error in an HTTP error is its word, even with code -32000
            # (which the SDK also uses for "connection closed", and the TypeScript SDK for "bad request").
            rejected = self._rejected(f"{status_text(status)}: {exchange.error_excerpt or exc.message}")
            if session_lost(exchange):
                held.mark_broken()
                again = ServerRejected(self.name, f"it lost the session again at once ({rejected.detail})")
                return _Reconnect(f"the session was lost ({rejected.detail})", again)
            if revision_refused(exc, exchange):
                held.mark_broken()
                self._negotiated = None  # it no longer speaks what it settled on: negotiate afresh
                return _Reconnect(f"it refused {held.client.protocol_version} ({rejected.detail})", rejected)
            return rejected
        rejected = self._rejected(f"JSON-RPC error {exc.code}: {exc.message}")
        # -32000 is also the SDK's own "connection closed"; in a JSON answer it is the server's word.
        if (exc.code == CONNECTION_CLOSED and not exchange.json_answer) or not held.alive:
            held.mark_broken()
            return ServerUnavailable(self.name, "the connection closed", reached=True)
        if revision_refused(exc, exchange):
            held.mark_broken()
            self._negotiated = None
            return _Reconnect(f"it refused {held.client.protocol_version} ({rejected.detail})", rejected)
        return rejected

    def _rejected(self, detail: str) -> ServerRejected:
        detail = detail[:400]
        return ServerRejected(self.name, detail, unknown_tool=_UNKNOWN_TOOL.search(detail) is not None)

    async def _client(self, exchange: Exchange) -> HeldClient:
        held = self._held
        if held is not None and held.alive:
            return held
        async with self._opening:
            if self._held is not None and self._held.alive:
                return self._held
            if self._held is not None:
                await self._discard(self._held)
            fresh = await open_held_client(self.name, self.url, self._http, self._negotiated, exchange)
            self._negotiated = fresh.negotiated
            self._held = fresh
            return fresh

    async def _discard(self, held: HeldClient) -> None:
        held.mark_broken()
        if self._held is held:
            self._held = None
        with contextlib.suppress(Exception):
            await held.stop()


async def _probe(client: Client) -> str:
    """The cheapest MCP request the negotiated revision has; returns its method."""
    version = client.protocol_version
    if client.session.discover_result is not None:
        await client.session.send_discover(version)
        return "server/discover"
    await client.session.send_ping()  # removed from 2026-07-28, which has no sessions to keep alive
    return "ping"


def _health_error(error: McpServerError) -> str:
    if isinstance(error, ProtocolMismatch):
        return f"protocol mismatch: {error.detail}"
    if isinstance(error, ServerRejected):
        return f"rejected: {error.detail}"
    return error.detail
