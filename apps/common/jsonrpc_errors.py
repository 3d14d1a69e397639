"""Answering a malformed JSON-RPC envelope with -32600 Invalid Request, as JSON-RPC 2.0 says.

The SDK's 2025-11-25 transport answers well-formed JSON that is not one request or notification (a
batch, ``"jsonrpc": "1.0"``, a ``method`` that is not a string) with -32602 Invalid params and
pydantic's whole validation report, while its 2026-07-28 transport answers the same body with
-32600. This middleware makes both revisions agree. It only touches HTTP 400 answers, which it
buffers (they are small); every other response streams through untouched, so the happy path pays
nothing.
"""

from __future__ import annotations

import json

from mcp_types import INVALID_PARAMS, INVALID_REQUEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

INVALID_ENVELOPE_MESSAGE = (
    "Invalid Request: the body must be one JSON-RPC 2.0 request or notification object "
    '({"jsonrpc": "2.0", "id": <string or integer>, "method": <string>, "params": <object>}); batches are not supported'
)
_SDK_ENVELOPE_PREFIX = "Validation error:"


def _rewritten(body: bytes) -> bytes:
    try:
        message = json.loads(body)
    except ValueError:
        return body
    error = message.get("error") if isinstance(message, dict) else None
    if (
        isinstance(error, dict)
        and message.get("id") is None
        and error.get("code") == INVALID_PARAMS
        and str(error.get("message", "")).startswith(_SDK_ENVELOPE_PREFIX)
    ):
        fixed = {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": INVALID_ENVELOPE_MESSAGE}}
        return json.dumps(fixed, separators=(",", ":")).encode()
    return body


class InvalidRequestErrors:
    """Pure ASGI middleware for the MCP endpoint: an envelope the SDK could not read becomes -32600."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []

        async def send_checked(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] == 400:
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = _rewritten(b"".join(chunks))
            headers = [(name, value) for name, value in held.get("headers", []) if name.lower() != b"content-length"]
            await send({**held, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_checked)
