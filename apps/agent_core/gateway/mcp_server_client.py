"""One MCP server: one pooled HTTP connection set and one SDK client, kept open for the process lifetime.

The SDK client speaks the stateless 2026-07-28 revision (``mode="2026-07-28"``): no handshake, no
session, so a server restart or another replica behind the Service changes nothing for it. Once the
tools are listed (the SDK needs each tool's output schema to validate results, and lists them by
itself if it has not), every tool call is exactly one HTTP request on a pooled keep-alive connection.

Calls pass the server's circuit breaker, then the retry loop (``retry.py``); every failure comes
out as an ``McpServerError`` (``errors.py``). If the SDK client dies anyway (an unexpected error in
its transport), the next request makes a new one on the same connection pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, CallToolResult, Implementation, RequestParamsMeta, Tool
from pydantic import ValidationError

from apps.agent_core.gateway.base import ServerHealth
from apps.agent_core.gateway.breaker import BreakerOpenError, CircuitBreaker
from apps.agent_core.gateway.errors import (
    CallTimedOut,
    CircuitOpen,
    McpServerError,
    ServerRejected,
    ServerUnavailable,
)
from apps.agent_core.gateway.retry import RetryPolicy, may_retry, with_retries
from apps.agent_core.gateway.transport import Exchange, ObservingTransport, observe
from apps.agent_core.reasoning.base import ToolSpec

log = logging.getLogger(__name__)
T = TypeVar("T")

PROTOCOL_VERSION = "2026-07-28"
CLIENT_INFO = Implementation(name="agentic-agent-core", version="1.0.0")
_MAX_TOOL_PAGES = 50
"""A server whose tools/list pagination never ends must not hang the catalog."""
_STOP_TIMEOUT_SECONDS = 5.0
_UNKNOWN_TOOL = re.compile(r"unknown tool", re.IGNORECASE)


def health_url_for(mcp_url: str) -> str:
    """``http://host:8002/mcp`` → ``http://host:8002/health``: the probe sits next to the MCP endpoint."""
    parts = urlsplit(mcp_url)
    parent = parts.path.rstrip("/").rpartition("/")[0]
    return urlunsplit((parts.scheme, parts.netloc, f"{parent}/health", "", ""))


def tool_spec(server: str, tool: Tool) -> ToolSpec:
    """The catalog's view of one tool. Missing hints take MCP's defaults, which assume the worst."""
    hints = tool.annotations
    read_only = bool(hints and hints.read_only_hint)
    destructive_hint = hints.destructive_hint if hints else None
    idempotent_hint = hints.idempotent_hint if hints else None
    open_world_hint = hints.open_world_hint if hints else None
    return ToolSpec(
        server=server,
        name=tool.name,
        description=(tool.description or tool.title or "").strip(),
        input_schema=tool.input_schema,
        output_schema=tool.output_schema,
        read_only=read_only,
        # MCP reads destructive and idempotent only when readOnlyHint is false: a tool that changes
        # nothing destroys nothing, and calling it twice is the same as calling it once.
        destructive=False if read_only else (destructive_hint if destructive_hint is not None else True),
        idempotent=True if read_only else bool(idempotent_hint),
        open_world=open_world_hint if open_world_hint is not None else True,
    )


@dataclass(frozen=True)
class CalledTool:
    result: CallToolResult
    """The tool's answer, which may be its own error (``is_error``)."""
    attempts: int


class _HeldClient:
    """One SDK ``Client``, entered and exited by a task of its own.

    The client's transport runs a task group bound to the task that enters it: entered from a
    caller's task, a transport crash would cancel that caller, and leaving it from another task is an
    error. So a dedicated task holds it open until ``stop()``; callers in any task use it meanwhile.
    """

    def __init__(self, client: Client, server: str) -> None:
        self.client = client
        self._server = server
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._broken = False

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done() and not self._stop.is_set() and not self._broken

    def mark_broken(self) -> None:
        """Its connection closed under a call: its task may still be unwinding, but nothing may use it."""
        self._broken = True

    async def start(self) -> None:
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._hold(started), name=f"mcp-client-{self._server}")
        self._task.add_done_callback(self._log_end)
        await started

    async def _hold(self, started: asyncio.Future[None]) -> None:
        try:
            async with self.client:
                started.set_result(None)
                await self._stop.wait()
        except Exception as exc:
            if not started.done():
                started.set_exception(exc)
            raise
        finally:
            if not started.done():
                started.cancel()

    def _log_end(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None and not self._stop.is_set():
            log.warning("MCP client for %s ended: %r; the next call opens a new one", self._server, exc)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is None or self._task.done():
            return
        await asyncio.wait({self._task}, timeout=_STOP_TIMEOUT_SECONDS)
        if not self._task.done():
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=_STOP_TIMEOUT_SECONDS)


class McpServerClient:
    """Reaches one MCP server; safe for many concurrent calls from any task of one event loop."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        token: str | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout: float = 2.0,
        max_connections: int = 32,
        keepalive_expiry: float = 4.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.health_url = health_url_for(url)
        self.breaker = breaker or CircuitBreaker()
        self.retry = retry or RetryPolicy()
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
            headers={"authorization": f"Bearer {token}"} if token else None,
            # No read timeout here: every request runs under its call's own deadline (anyio.fail_after).
            timeout=httpx2.Timeout(connect=connect_timeout, read=None, write=30.0, pool=connect_timeout),
            # Service-to-service traffic: a proxy from the environment (meant for AWS) must not capture it,
            # and every request must pass the observing transport above.
            trust_env=False,
        )
        self._held: _HeldClient | None = None
        self._opening = asyncio.Lock()
        self._closed = False

    async def list_tools(self, *, timeout: float) -> list[ToolSpec]:
        """Every tool the server lists (all pages); listing is always safe to retry."""
        tools, _ = await self._request(self._list_all, timeout=timeout, idempotent=True)
        return [tool_spec(self.name, tool) for tool in tools]

    async def call_tool(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        timeout: float,
        idempotent: bool = False,
        meta: RequestParamsMeta | None = None,
    ) -> CalledTool:
        """One ``tools/call``; ``idempotent`` (from the tool's annotations) allows retries that may resend it."""

        async def call(client: Client) -> CallToolResult:
            return await client.call_tool(tool, arguments, meta=meta)

        result, attempts = await self._request(call, timeout=timeout, idempotent=idempotent)
        return CalledTool(result, attempts)

    async def health(self, *, timeout: float) -> ServerHealth:
        """``GET /health`` next to the MCP endpoint, timed; does not pass (or move) the breaker."""
        started = time.perf_counter()
        error = "the gateway is closed" if self._closed else await self._probe(timeout)
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return ServerHealth(
            server=self.name,
            url=self.url,
            reachable=error is None,
            latency_ms=latency_ms if error is None else None,
            breaker=self.breaker.state,
            error=error,
        )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._held is not None:
            await self._held.stop()
            self._held = None
        await self._http.aclose()

    async def _probe(self, timeout: float) -> str | None:
        """What is wrong with the server's liveness probe, or ``None``."""
        with observe() as exchange:
            try:
                response = await self._http.get(self.health_url, timeout=timeout)
            except httpx2.HTTPError as exc:  # the observing transport turns most of these into a status
                return str(exc) or type(exc).__name__
        if exchange.failure is not None:
            return exchange.failure.detail
        if response.status_code != 200:
            return f"GET /health answered {_status_text(response.status_code)}"
        return None

    async def _list_all(self, client: Client) -> list[Tool]:
        tools: list[Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_TOOL_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                return tools
        raise ServerRejected(self.name, f"tools/list still had more pages after {_MAX_TOOL_PAGES}")

    async def _request(
        self, operation: Callable[[Client], Awaitable[T]], *, timeout: float, idempotent: bool
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
            with anyio.fail_after(timeout):
                result = await with_retries(
                    attempt, policy=self.retry, retryable=retryable, deadline=time.monotonic() + timeout
                )
                return result, attempts
        except TimeoutError:
            raise CallTimedOut(self.name, timeout, attempts=attempts) from None
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
            with observe() as exchange:
                held = await self._client()
                try:
                    result = await operation(held.client)
                except MCPError as exc:
                    raise self._classify(exc, exchange, held) from None
                except (ValidationError, RuntimeError, anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
                    if not held.alive:
                        await self._discard(held)
                        raise ServerUnavailable(self.name, "the connection broke", reached=True) from exc
                    # The SDK checks results against the tool's output schema and raises RuntimeError.
                    raise ServerRejected(self.name, f"invalid result: {str(exc)[:300]}") from exc
        except ServerUnavailable as error:
            if error.counts_against_server:
                self.breaker.failure(permit, error.detail)
            else:
                self.breaker.release(permit)
            raise
        except McpServerError:
            self.breaker.success(permit)  # it answered: the server is up, whatever it said
            raise
        except BaseException:
            self.breaker.release(permit)  # cancelled (the call's timeout): says nothing about the server
            raise
        self.breaker.success(permit)
        return result

    def _classify(self, exc: MCPError, exchange: Exchange, held: _HeldClient) -> McpServerError:
        if (failure := exchange.failure) is not None:
            return ServerUnavailable(
                self.name, failure.detail, reached=failure.reached, counts_against_server=failure.counts_against_server
            )
        status = exchange.status
        if status in (502, 503, 504):
            # A proxy's 503 means no upstream took the request; after 502 or 504 the tool may have run.
            return ServerUnavailable(self.name, _status_text(status), reached=status != 503)
        if exc.code == CONNECTION_CLOSED or not held.alive:
            held.mark_broken()
            return ServerUnavailable(self.name, "the connection closed", reached=True)
        if status is not None and status >= 400:
            detail = f"{_status_text(status)}: {exchange.error_excerpt or exc.message}"
        else:
            detail = f"JSON-RPC error {exc.code}: {exc.message}"
        return ServerRejected(self.name, detail[:400], unknown_tool=_UNKNOWN_TOOL.search(detail) is not None)

    async def _client(self) -> _HeldClient:
        held = self._held
        if held is not None and held.alive:
            return held
        async with self._opening:
            if self._held is not None and self._held.alive:
                return self._held
            if self._held is not None:
                await self._held.stop()
            client = Client(
                streamable_http_client(self.url, http_client=self._http, terminate_on_close=False),
                mode=PROTOCOL_VERSION,
                client_info=CLIENT_INFO,
                # The gateway caches the catalog itself, with its own TTL and refresh rules.
                cache=None,
            )
            fresh = _HeldClient(client, self.name)
            try:
                await fresh.start()  # 2026-07-28 adopts the version without a request: little can fail here
            except Exception as exc:
                raise ServerUnavailable(self.name, f"cannot open an MCP client: {exc!r}"[:300], reached=False) from exc
            self._held = fresh
            return fresh

    async def _discard(self, held: _HeldClient) -> None:
        if self._held is held:
            self._held = None
        with contextlib.suppress(Exception):
            await held.stop()


def _status_text(status: int) -> str:
    reason = httpx2.codes.get_reason_phrase(status)
    return f"HTTP {status} {reason}".strip()
