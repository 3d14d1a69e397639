"""Raw JSON-RPC over HTTP to an MCP endpoint: for requests no real client would send.

The official client refuses to build malformed messages, so hostile-input tests speak to ``/mcp`` with
plain httpx. ``MODES`` names the two revisions as the transport tells them apart: no protocol header (the
2025-11-25 handshake path, which also answers stateless requests) and ``MCP-Protocol-Version: 2026-07-28``
with the per-request ``_meta`` envelope.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import httpx
from mcp.shared.inbound import MCP_METHOD_HEADER, MCP_NAME_HEADER, NAME_BEARING_METHODS, encode_header_value

MODERN = "2026-07-28"
MODES = ("legacy", MODERN)
ACCEPT = "application/json, text/event-stream"
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
HEADER_MISMATCH = -32020
"""2026-07-28: the ``Mcp-Method``/``Mcp-Name`` headers disagree with the body (or cannot mirror it)."""
PROTOCOL_ERRORS = frozenset({PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, HEADER_MISMATCH})
_ids = itertools.count(1)


def headers(mode: str, token: str | None, body: bytes = b"") -> dict[str, str]:
    """The headers a client sends; on 2026-07-28 the routing headers mirror the body, as the SDK client does."""
    values = {"content-type": "application/json", "accept": ACCEPT}
    if mode == MODERN:
        values["mcp-protocol-version"] = MODERN
        values.update(_routing_headers(body))
    if token:
        values["authorization"] = f"Bearer {token}"
    return values


def _routing_headers(body: bytes) -> dict[str, str]:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return {}
    # Only printable ASCII survives in a header; anything else is replaced, and the server sees a mismatch.
    method = "".join(char if " " <= char <= "~" else "_" for char in message["method"]).strip()
    routing = {MCP_METHOD_HEADER: method}
    params = message.get("params")
    name_key = NAME_BEARING_METHODS.get(message["method"])
    if name_key and isinstance(params, dict) and isinstance(params.get(name_key), str):
        routing[MCP_NAME_HEADER] = encode_header_value(params[name_key])
    return routing


def envelope_meta(mode: str) -> dict[str, Any]:
    """What 2026-07-28 requires in every request's ``params._meta``; nothing on the legacy path."""
    if mode != MODERN:
        return {}
    return {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    }


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> int | None:
        try:
            message = self.json()
        except ValueError:
            return None
        error = message.get("error") if isinstance(message, dict) else None
        return error.get("code") if isinstance(error, dict) else None

    def describe(self) -> str:
        return f"HTTP {self.status} {self.body[:400]!r}"


def post(http: httpx.Client, url: str, body: bytes, *, mode: str = "legacy", token: str | None = None) -> Answer:
    response = http.post(url, content=body, headers=headers(mode, token, body))
    return Answer(response.status_code, response.content, response.headers.get("content-type", ""))


def request(method: str, params: dict[str, Any] | None = None, *, mode: str = "legacy") -> bytes:
    """A well-formed request for ``method``, with the envelope ``mode`` needs."""
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": next(_ids), "method": method}
    full_params = {**(params or {}), **envelope_meta(mode)}
    if full_params:
        body["params"] = full_params
    return json.dumps(body).encode()


def call_tool(
    http: httpx.Client, url: str, name: str, arguments: Any, *, mode: str = "legacy", token: str | None = None
) -> Answer:
    return post(
        http, url, request("tools/call", {"name": name, "arguments": arguments}, mode=mode), mode=mode, token=token
    )


def tool_text(answer: Answer) -> str:
    """The text blocks of a ``tools/call`` result, joined."""
    result = answer.json()["result"]
    return "\n".join(block.get("text", "") for block in result.get("content", []))
