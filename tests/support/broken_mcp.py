"""Stand-ins for what sits at an MCP URL when it is not a working MCP server, each on its own 127.0.0.1 port.

- ``garbage``: a web page where the MCP endpoint should be (the URL points at the wrong service);
- ``http_400``: every POST refused with a plain 400, as a gateway or a server with a broken config does;
- ``mismatch``: an MCP server that speaks only a revision this client does not (2024-10-07). The spec lets a
  server answer ``initialize`` with "another protocol version it supports" (2025-11-25, Lifecycle,
  Version Negotiation); everything before ``initialize`` it refuses with HTTP 400 and JSON-RPC -32000,
  word for word as the TypeScript SDK's servers do (``server-everything``'s ``streamableHttp.js``);
- ``hang_up``: accepts the connection and closes it without a word;
- ``silent``: accepts the connection, reads the request, never answers.

The ASGI ones answer ``GET /ready`` with 200 so the tests can wait for them; no real server is asked that.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator

from starlette.types import ASGIApp, Receive, Scope, Send

from tests.support.servers import serve_in_thread

ANCIENT_REVISION = "2024-10-07"


async def _respond(send: Send, status: int, content_type: str, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type.encode())]})
    await send({"type": "http.response.body", "body": body})


async def _body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def _stand_in(kind: str) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/ready":
            await _respond(send, 200, "text/plain", b"ready")
            return
        body = await _body(receive)
        if kind == "garbage":
            await _respond(send, 200, "text/html; charset=utf-8", b"<!doctype html><title>Shop</title><h1>Welcome</h1>")
        elif kind == "http_400":
            await _respond(send, 400, "text/plain", b"Bad Request")
        else:
            await _mismatch(body, send)

    return app


async def _mismatch(body: bytes, send: Send) -> None:
    try:
        message = json.loads(body)
    except ValueError:
        message = {}
    if not isinstance(message, dict) or _is_notification(message):
        await _respond(send, 202, "text/plain", b"")
        return
    if message.get("method") == "initialize":
        result = {
            "protocolVersion": ANCIENT_REVISION,
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "ancient", "version": "0.1.0"},
        }
        answer = {"jsonrpc": "2.0", "id": message.get("id"), "result": result}
        await _respond(send, 200, "application/json", json.dumps(answer).encode())
        return
    error = {"code": -32000, "message": "Bad Request: Server not initialized"}
    refusal = {"jsonrpc": "2.0", "error": error, "id": None}
    await _respond(send, 400, "application/json", json.dumps(refusal).encode())


def _is_notification(message: dict[str, object]) -> bool:
    return "method" in message and "id" not in message


@contextlib.contextmanager
def run_stand_in(kind: str) -> Iterator[str]:
    """``garbage``, ``http_400`` or ``mismatch``; yields its MCP URL."""
    with serve_in_thread(_stand_in(kind), ready_path="/ready") as url:
        yield url + "/mcp"


@contextlib.contextmanager
def run_socket_stand_in(kind: str) -> Iterator[str]:
    """``hang_up`` or ``silent``; yields its MCP URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)  # accept() wakes up now and then to see whether it should stop
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            if kind == "hang_up":
                conn.close()
            else:
                held.append(conn)  # read by nobody, answered never, closed at the end

    thread = threading.Thread(target=serve, name=f"stand-in-{kind}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in held:
            conn.close()
