"""The HTTP transport under the SDK client: it keeps transport failures from killing the connection.

The SDK's Streamable HTTP client sends each request's POST in a task of its connection's task group.
An exception there (``ConnectError`` when a server is down) ends the whole group: every call in
flight on that client fails with "Connection closed" and the client is dead. A status code, on the
other hand, is resolved for its own request only; but the SDK reports any non-JSON error status as
the same generic "Server returned an error response", losing what a retry decision needs.

So this transport wraps the pooled ``httpx2`` transport and, for every request:

- turns a transport failure into a 503 response for the SDK, and
- records what really happened to each POST (the failure, or the HTTP status and the start of an error
  body; whether it carried or was given an ``Mcp-Session-Id``) in the ``Exchange`` the caller set with
  ``observe()``. The SDK carries the sender's context into the task that sends the POST, so the record
  is the caller's own even with many calls in flight. The SDK's own GET stream and DELETE are not
  recorded: they run beside the caller's request and would overwrite what happened to it.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2

SESSION_HEADER = "mcp-session-id"
METHOD_HEADER = "mcp-method"
"""Sent by 2026-07-28 clients (the SDK's ``server/discover`` probe included) with every request."""
_ERROR_BODY_LIMIT = 64 * 1024
"""Error bodies are read whole (the SDK parses JSON-RPC errors from them) up to this many bytes."""
_EXCERPT_CHARS = 300


@dataclass(frozen=True)
class TransportFailure:
    """A request that got no HTTP response at all."""

    detail: str
    reached: bool
    """Whether the request may have reached the server (the connection was up when it failed)."""
    counts_against_server: bool = True


@dataclass
class Exchange:
    """What the HTTP layer saw while the caller waited for one MCP request."""

    status: int | None = None
    error_excerpt: str = ""
    failure: TransportFailure | None = None
    session_sent: bool = False
    """The last POST carried an ``Mcp-Session-Id``: a 404 (or a 400 naming the session) means it was lost."""
    session_issued: bool = False
    """A response handed out an ``Mcp-Session-Id``: the server keeps sessions."""
    json_answer: bool = False
    """The last POST was answered with a JSON body (not an SSE stream): any JSON-RPC error is the server's."""
    discover_unanswered: str | None = None
    """Why a ``server/discover`` probe got no answer from the server itself (a transport failure, 502/503/504)."""


_current: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar("mcp_gateway_exchange", default=None)


@contextlib.contextmanager
def observe() -> Iterator[Exchange]:
    """Record the HTTP requests sent on behalf of the code inside the block."""
    exchange = Exchange()
    token = _current.set(exchange)
    try:
        yield exchange
    finally:
        _current.reset(token)


def status_text(status: int) -> str:
    """``HTTP 404 Not Found``: how reports name a status."""
    reason = httpx2.codes.get_reason_phrase(status)
    return f"HTTP {status} {reason}".strip()


def classify(exc: httpx2.TransportError, connect_timeout: float | None) -> TransportFailure:
    """What a transport error says about where the request got to."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, httpx2.ConnectTimeout):
        limit = f" after {connect_timeout:g} s" if connect_timeout is not None else ""
        return TransportFailure(f"connect timed out{limit}", reached=False)
    if isinstance(exc, httpx2.ConnectError):
        return TransportFailure(_connect_failure(exc), reached=False)
    if isinstance(exc, httpx2.PoolTimeout):
        # Every pooled connection was busy for the whole pool timeout: our limit, not the server's fault.
        return TransportFailure("no free connection in the gateway's pool", reached=False, counts_against_server=False)
    if isinstance(exc, httpx2.TimeoutException):
        return TransportFailure(f"timed out waiting for the server ({type(exc).__name__})", reached=True)
    return TransportFailure(f"connection dropped: {message}", reached=True)


def _connect_failure(exc: BaseException) -> str:
    # httpx's message hides the cause ("All connection attempts failed"); the OS error under it says it.
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return f"cannot resolve its host name ({seen.strerror})"
        seen = seen.__cause__ or seen.__context__
    return f"cannot connect: {exc}"


class ObservingTransport(httpx2.AsyncBaseTransport):
    """Wraps ``inner``; see the module docstring."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, *, connect_timeout: float | None = None) -> None:
        self._inner = inner
        self._connect_timeout = connect_timeout

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        exchange = _current.get() if request.method == "POST" else None
        if exchange is not None:
            exchange.session_sent = SESSION_HEADER in request.headers
            exchange.status, exchange.error_excerpt, exchange.failure, exchange.json_answer = None, "", None, False
        discover = request.headers.get(METHOD_HEADER) == "server/discover"
        try:
            response = await self._inner.handle_async_request(request)
        except httpx2.TransportError as exc:
            failure = classify(exc, self._connect_timeout)
            if exchange is not None:
                exchange.failure = failure
                exchange.discover_unanswered = failure.detail if discover else exchange.discover_unanswered
            return httpx2.Response(
                503,
                headers={"content-type": "text/plain; charset=utf-8"},
                content=failure.detail.encode(),
                request=request,
            )
        if exchange is not None:
            exchange.status = response.status_code
            exchange.session_issued |= SESSION_HEADER in response.headers
            exchange.json_answer = response.headers.get("content-type", "").startswith("application/json")
            if discover and response.status_code in (502, 503, 504):
                exchange.discover_unanswered = f"HTTP {response.status_code}"
        if response.status_code < 400:
            return response
        body = await _read_limited(response)
        if exchange is not None:
            exchange.error_excerpt = body[:_EXCERPT_CHARS].decode("utf-8", "replace").strip()
        # The stream is spent; hand the SDK the same status, headers and (raw) bytes.
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _read_limited(response: httpx2.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_raw():
            chunks.append(chunk)
            size += len(chunk)
            if size >= _ERROR_BODY_LIMIT:
                break
    except httpx2.TransportError:
        pass  # the status is what matters; a body cut short only shortens the excerpt
    finally:
        await response.aclose()
    return b"".join(chunks)
