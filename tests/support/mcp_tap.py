"""A recording pass-through in front of an MCP server we cannot instrument (a Node or Python SDK 1.x process).

Every request goes upstream unchanged and every answer comes back unchanged, streamed both ways (SSE
answers arrive event by event). Each POST is written down with its JSON-RPC method, whether it carried
an ``Mcp-Session-Id``, and the status the server answered: what reached the server, counted at the server.
``GET /_tap/ready`` is the tap's own (200), for waiting until it listens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import anyio
import httpx
from starlette.types import Message, Receive, Scope, Send

READY_PATH = "/_tap/ready"
_HOP_BY_HOP = {b"host", b"connection", b"keep-alive", b"transfer-encoding", b"content-length"}


@dataclass(frozen=True)
class Tapped:
    method: str
    """The JSON-RPC method of the POST body (``""`` for a response or a batch)."""
    with_session: bool
    status: int


@dataclass
class McpTap:
    upstream: str
    """The server's base URL, e.g. ``http://127.0.0.1:3001``."""
    seen: list[Tapped] = field(default_factory=list)

    def count(self, method: str, status: int | None = None) -> int:
        return sum(1 for t in self.seen if t.method == method and (status is None or t.status == status))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["path"] == READY_PATH:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ready"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        url = self.upstream + scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        async with anyio.create_task_group() as group:
            # A client that goes away (the SDK closing its GET stream) ends the upstream stream too.
            group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
            await self._forward(scope["method"], url, headers, body, send)
            group.cancel_scope.cancel()

    async def _forward(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes, send: Send
    ) -> None:
        started = False
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None)) as http:
            try:
                async with http.stream(method, url, headers=headers, content=body) as response:
                    if method == "POST":
                        with_session = any(k.lower() == b"mcp-session-id" for k, _ in headers)
                        self.seen.append(Tapped(_rpc_method(body), with_session, response.status_code))
                    kept = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP]
                    await send({"type": "http.response.start", "status": response.status_code, "headers": kept})
                    started = True
                    async for chunk in response.aiter_raw():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except httpx.TransportError:
                if not started:  # like a proxy whose upstream is down
                    await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b""})


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    message: Message = await receive()
    while message["type"] != "http.disconnect":
        message = await receive()
    scope.cancel()


def _rpc_method(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    return str(parsed.get("method", "")) if isinstance(parsed, dict) else ""
