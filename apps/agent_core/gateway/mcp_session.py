"""One SDK ``Client`` for one server, held open by a task of its own, on the revision negotiated with it.

``open_held_client`` makes one: it negotiates with a server met for the first time (or reconnects on
the revision remembered from last time) and turns whatever failed on the way into an ``McpServerError``.

The SDK's Streamable HTTP transport does the protocol work: it keeps the ``Mcp-Session-Id`` the
``initialize`` answer hands out and sends it (with ``MCP-Protocol-Version``) on every later request,
sends ``notifications/initialized``, and reads answers sent as JSON or as an SSE stream. What it
cannot do is notice that the server forgot the session: a ``HeldClient`` is never repaired, the
caller drops it and opens a new one (``negotiation.py`` says when).
"""

from __future__ import annotations

import asyncio
import logging

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, Implementation

from apps.agent_core.gateway.errors import McpServerError, ProtocolMismatch, ServerRejected, ServerUnavailable
from apps.agent_core.gateway.negotiation import Negotiated, mismatch_detail
from apps.agent_core.gateway.transport import Exchange, status_text

log = logging.getLogger(__name__)

CLIENT_INFO = Implementation(name="agentic-agent-core", version="1.0.0")
_STOP_TIMEOUT_SECONDS = 5.0


class HeldClient:
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
        self.negotiated: Negotiated | None = None
        """What the server settled on; set once the client is open."""

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done() and not self._stop.is_set() and not self._broken

    def mark_broken(self) -> None:
        """Its connection closed under a call (or its session was lost): nothing may use it any more."""
        self._broken = True

    async def start(self) -> None:
        """Enter the client (negotiating, unless the mode pins a revision); raises what entering raised."""
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._hold(started), name=f"mcp-client-{self._server}")
        self._task.add_done_callback(self._log_end)
        try:
            await started
        except BaseException:
            # Cancelled (the caller's deadline) or failed: a handshake still under way must not live on.
            self._stop.set()
            self._task.cancel()
            raise

    async def _hold(self, started: asyncio.Future[None]) -> None:
        try:
            async with self.client:
                started.set_result(None)
                await self._stop.wait()
        except Exception as exc:
            if not started.done():
                started.set_exception(sole_error(exc))
                return  # the opener reports it
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


def sole_error(error: Exception) -> Exception:
    """The one error inside the task groups the SDK nests around its handshake, or ``error`` itself."""
    while isinstance(error, ExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def new_client(url: str, http: httpx2.AsyncClient, remembered: Negotiated | None) -> Client:
    """An SDK client that negotiates (``auto``) with a server met for the first time, else reconnects on
    the remembered revision without probing."""
    return Client(
        # Not terminated on close: a client is dropped when its session is already gone, or at shutdown.
        streamable_http_client(url, http_client=http, terminate_on_close=False),
        mode=remembered.connect_mode() if remembered else "auto",
        prior_discover=remembered.discover if remembered else None,
        client_info=CLIENT_INFO,
        # The gateway caches the catalog itself, with its own TTL and refresh rules.
        cache=None,
    )


async def open_held_client(
    server: str, url: str, http: httpx2.AsyncClient, remembered: Negotiated | None, exchange: Exchange
) -> HeldClient:
    """A new SDK client, entered: negotiation (or the remembered revision), handshake, session.

    Nothing has reached a tool yet, so every ``ServerUnavailable`` raised here is safe to retry."""
    held = HeldClient(new_client(url, http, remembered), server)
    try:
        await held.start()
    except MCPError as exc:
        raise _open_failure(server, exc, exchange) from None
    except Exception as exc:
        if (mismatch := mismatch_detail(exc)) is not None:
            raise ProtocolMismatch(server, mismatch) from None
        if exchange.failure is not None:
            raise ServerUnavailable(server, exchange.failure.detail, reached=False) from exc
        raise ServerUnavailable(server, f"cannot open an MCP client: {exc!r}"[:300], reached=False) from exc
    client = held.client
    negotiated = Negotiated(client.protocol_version, client.session.discover_result, session=exchange.session_issued)
    if remembered is None and not negotiated.modern and exchange.discover_unanswered:
        # The 2026-07-28 probe got no answer at all, so "it speaks only an older revision" is unproven:
        # settling for the handshake would cost our own servers their one-request calls for good.
        await held.stop()
        raise ServerUnavailable(
            server, f"server/discover got no answer ({exchange.discover_unanswered})", reached=False
        )
    if remembered is None:
        kind = "with sessions" if negotiated.session else "stateless"
        log.info("%s MCP server speaks %s (%s)", server, negotiated.protocol_version, kind)
    held.negotiated = negotiated
    return held


def _open_failure(server: str, exc: MCPError, exchange: Exchange) -> McpServerError:
    if (mismatch := mismatch_detail(exc)) is not None:
        return ProtocolMismatch(server, mismatch)
    if (failure := exchange.failure) is not None:
        return ServerUnavailable(server, failure.detail, reached=False)
    status = exchange.status
    if status in (502, 503, 504):
        return ServerUnavailable(server, status_text(status), reached=False)
    if status is not None and status >= 400:
        return ServerRejected(server, f"{status_text(status)}: {exchange.error_excerpt or exc.message}"[:400])
    if exc.code == CONNECTION_CLOSED:
        return ServerUnavailable(server, "the connection closed", reached=False)
    return ServerRejected(server, f"not an MCP answer: JSON-RPC error {exc.code}: {exc.message}"[:400])
