"""One stdio MCP server: a child process of this one, with one long-lived SDK session shared by every call.

``StdioServerClient`` has the public surface of ``McpServerClient`` (``name``, ``url``, ``negotiated``,
``breaker``, ``list_tools``, ``call_tool``, ``health``, ``aclose``), so the gateway treats both alike.
The process is started by the first request (``stdio_process.py`` says how, and with which
environment; ``stdio_runs.py`` how it is restarted); concurrent calls share its one session, which the
SDK multiplexes by request id.

When the process dies, every request in flight fails at once with an error naming the server and the
exit status (``StdioServerExited``; for ``tools/call``: "the call may or may not have been applied"),
its stderr having gone to the log line by line. The next request starts a new process, within the
bounds of ``stdio_restarts.py``; past them the server stays stopped and ``health`` says why. A
``tools/call`` that may have reached the tool is never sent again (``retry.py``'s rule, as over HTTP):
only a request that never reached a process (it could not start, or died during the handshake), or
one the tool's annotations make safe to repeat, is retried. The breaker counts one failure per dead
process, however many calls were in flight when it died.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import anyio
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
from apps.agent_core.gateway.mcp_server_client import CalledTool
from apps.agent_core.gateway.negotiation import Negotiated
from apps.agent_core.gateway.progress import CallDeadline, DeadlinePassed, OnProgress
from apps.agent_core.gateway.retry import CallRetryPolicy, may_retry, with_retries
from apps.agent_core.gateway.stdio_process import MAX_MESSAGE_BYTES, StdioCommand
from apps.agent_core.gateway.stdio_restarts import RestartPolicy
from apps.agent_core.gateway.stdio_runs import Method, RunOptions, Runs, StdioServerExited
from apps.agent_core.model import ToolSpec

__all__ = ["StdioServerClient", "StdioServerExited"]

T = TypeVar("T")

_MAX_TOOL_PAGES = 50
_UNKNOWN_TOOL = re.compile(r"unknown tool", re.IGNORECASE)
_RESULT_ERRORS = (ValidationError, RuntimeError, anyio.ClosedResourceError, anyio.BrokenResourceError)


class StdioServerClient:
    """Reaches one stdio server; safe for many concurrent calls from any task of one event loop."""

    def __init__(
        self,
        name: str,
        *,
        command: str,
        args: list[str],
        env: Mapping[str, str],
        cwd: Path | None = None,
        breaker: CircuitBreaker,
        retry: CallRetryPolicy | None = None,
        restart: RestartPolicy | None = None,
        restarted_by: str = "the agent core",
        start_timeout_seconds: float = 60.0,
        stop_grace_seconds: float = 2.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.name = name
        command_line = StdioCommand(command, tuple(args), dict(env), cwd)
        self.url = command_line.display()
        """Shown where a remote server shows its URL: the command line, without the environment."""
        self.breaker = breaker
        self.retry = retry or CallRetryPolicy()
        options = RunOptions(
            restart=restart or RestartPolicy(),
            restarted_by=restarted_by,
            start_timeout=start_timeout_seconds,
            stop_grace=stop_grace_seconds,
            max_message_bytes=max_message_bytes,
        )
        self._runs = Runs(name, command_line, options)

    @property
    def negotiated(self) -> Negotiated | None:
        """The revision the server settled on; ``None`` until it has been started once."""
        return self._runs.negotiated

    @property
    def given_up(self) -> str | None:
        """Why the server is not started any more (past its restart bound), or ``None`` while it may be."""
        return self._runs.given_up

    @property
    def pid(self) -> int | None:
        """The running process's id, if one is running."""
        run = self._runs.current
        return run.child.pid if run is not None else None

    async def list_tools(self, *, timeout: float) -> list[ToolSpec]:
        """Every tool the server lists (all pages); listing is always safe to retry."""
        return (await self.listing(timeout=timeout)).tools

    async def listing(self, *, timeout: float) -> ToolListing:
        """The tools and what the server says about them and itself (``_meta``: capability statuses)."""
        tools, meta = await self._list_pages(timeout)
        return tool_listing(self.name, tools, meta)

    async def list_mcp_tools(self, *, timeout: float) -> list[Tool]:
        """The tools as the server describes them (annotations, schemas and all), for the bridge to pass on."""
        tools, _ = await self._list_pages(timeout)
        return tools

    async def _list_pages(self, timeout: float) -> tuple[list[Tool], dict[str, Any] | None]:
        listed, _ = await self._request(_list_all, "tools/list", deadline=CallDeadline(timeout), idempotent=True)
        return listed

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

        Progress reports move the ``timeout`` on, up to ``max_seconds`` (``progress.py``)."""
        deadline = CallDeadline(timeout, max_seconds, on_progress=on_progress)

        async def call(client: Client) -> CallToolResult:
            return await client.call_tool(tool, arguments, progress_callback=deadline.progress_callback, meta=meta)

        result, attempts = await self._request(call, "tools/call", deadline=deadline, idempotent=idempotent)
        return CalledTool(result, attempts)

    async def health(self, *, timeout: float) -> ServerHealth:
        """An MCP round trip, timed (``ping``, or ``server/discover`` on 2026-07-28), starting the process if
        it is not running and may be started. It does not pass (or move) the breaker."""
        started = time.perf_counter()
        probe: str | None = None
        failure: McpServerError | None = None
        if self._runs.closed:
            failure = McpServerError(self.name, "the gateway is closed", attempts=0)
        else:
            try:
                with anyio.fail_after(timeout):
                    probe = await self._exchange(_probe, "ping", until=anyio.current_time() + timeout)
            except TimeoutError:
                failure = CallTimedOut(self.name, timeout, attempts=1)
            except McpServerError as error:
                failure = error
        negotiated = self._runs.negotiated
        return ServerHealth(
            server=self.name,
            url=self.url,
            transport="stdio",
            reachable=failure is None,
            protocol_version=negotiated.protocol_version if negotiated else None,
            latency_ms=round((time.perf_counter() - started) * 1000, 3) if failure is None else None,
            probe=probe,
            breaker=self.breaker.state,
            failure=failure.kind if failure else None,
            error=_health_error(failure) if failure else None,
        )

    async def aclose(self) -> None:
        """Stop the process (stdin closed, then SIGTERM, then SIGKILL) and refuse every later request."""
        if not self._runs.closed:
            await self._runs.aclose()

    async def _request(
        self, operation: Callable[[Client], Awaitable[T]], method: Method, *, deadline: CallDeadline, idempotent: bool
    ) -> tuple[T, int]:
        if self._runs.closed:
            raise McpServerError(self.name, "the gateway is closed", attempts=0)
        attempts = 0

        async def attempt(number: int) -> T:
            nonlocal attempts
            attempts = number
            return await self._attempt(operation, method, deadline)

        def retryable(error: McpServerError) -> bool:
            return may_retry(error, idempotent=idempotent) and self.breaker.state == "closed"

        try:
            with deadline.running():
                result = await with_retries(
                    attempt, policy=self.retry, retryable=retryable, deadline=deadline.until, clock=anyio.current_time
                )
                return result, attempts
        except DeadlinePassed:
            raise deadline.timed_out(self.name, attempts=attempts) from None
        except McpServerError as error:
            if not isinstance(error, CircuitOpen) and self.breaker.state == "open":
                error.note = f"circuit open for {round(self.breaker.retry_after(), 1):g} s"
            raise

    async def _attempt(self, operation: Callable[[Client], Awaitable[T]], method: Method, deadline: CallDeadline) -> T:
        try:
            permit = self.breaker.acquire()
        except BreakerOpenError as exc:
            raise CircuitOpen(self.name, exc.retry_after, exc.last_failure) from None
        try:
            result = await self._exchange(operation, method, until=deadline.until)
        except ServerUnavailable as error:
            if error.counts_against_server:
                self.breaker.failure(permit, error.detail)
            else:
                self.breaker.release(permit)
            raise
        except McpServerError:
            self.breaker.success(permit)  # it answered: the process is up
            raise
        except BaseException:
            self.breaker.release(permit)  # cancelled (the call's deadline): says nothing about the server
            raise
        self.breaker.success(permit)
        return result

    async def _exchange(self, operation: Callable[[Client], Awaitable[T]], method: Method, *, until: float) -> T:
        run = await self._runs.live(until)
        try:
            return await operation(run.held.client)
        except MCPError as exc:
            # The SDK reports the end of the stream as -32000 too; from a live process, -32000 is its own word.
            if run.alive or exc.code != CONNECTION_CLOSED:
                detail = f"JSON-RPC error {exc.code}: {exc.message}"[:400]
                raise ServerRejected(self.name, detail, unknown_tool=_UNKNOWN_TOOL.search(detail) is not None) from None
            raise await self._runs.ended(run, method) from None
        except _RESULT_ERRORS as exc:
            if run.alive:
                # The SDK checks results against the tool's output schema and raises RuntimeError.
                raise ServerRejected(self.name, f"invalid result: {str(exc)[:300]}") from exc
            raise await self._runs.ended(run, method) from None


async def _list_all(client: Client) -> tuple[list[Tool], dict[str, Any] | None]:
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
    raise RuntimeError(f"tools/list still had more pages after {_MAX_TOOL_PAGES}")


async def _probe(client: Client) -> str:
    """The cheapest MCP request the negotiated revision has; returns its method."""
    if client.session.discover_result is not None:
        await client.session.send_discover(client.protocol_version)
        return "server/discover"
    await client.session.send_ping()
    return "ping"


def _health_error(error: McpServerError) -> str:
    if isinstance(error, ProtocolMismatch):
        return f"protocol mismatch: {error.detail}"
    if isinstance(error, ServerRejected):
        return f"rejected: {error.detail}"
    return error.detail
