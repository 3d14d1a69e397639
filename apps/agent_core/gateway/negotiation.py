"""Which MCP revision to speak with a server, and what its refusals say about the revision or the session.

A server is first met with the SDK's ``mode="auto"``: a ``server/discover`` probe at 2026-07-28, and on
any refusal the ``initialize`` handshake offering 2025-11-25, to which the server may counter with an
older revision the SDK also speaks (``HANDSHAKE_PROTOCOL_VERSIONS``: 2025-06-18, 2025-03-26,
2024-11-05). What it settled on is remembered (``Negotiated``), so a new SDK client for the same server
(after a lost session or a broken connection) skips the probe: a 2026-07-28 server is adopted without a
request (one HTTP request per tool call stays one), an older one goes straight to ``initialize``.

Three kinds of refusal change what the client does next:

- the session is lost (the server restarted or expired it): HTTP 404 to a request that carried an
  ``Mcp-Session-Id``, or a 400 whose body names the session (the TypeScript SDK's reference servers
  answer "Bad Request: No valid session ID provided"). The request never reached a tool, so the
  client opens a new session and sends it once more;
- the remembered revision is refused (HTTP 400 naming the protocol version, or JSON-RPC -32022): the
  server changed under us, so the revision is negotiated afresh, and the request sent once more;
- no revision is shared at all (the handshake's answer names a revision the SDK does not speak, or
  -32022 from a server that speaks only revisions newer than ours): a ``ProtocolMismatch``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mcp.shared.exceptions import MCPError
from mcp_types import UNSUPPORTED_PROTOCOL_VERSION, DiscoverResult, UnsupportedProtocolVersionErrorData
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from apps.agent_core.gateway.transport import Exchange

SPOKEN_REVISIONS: tuple[str, ...] = (*reversed(MODERN_PROTOCOL_VERSIONS), *reversed(HANDSHAKE_PROTOCOL_VERSIONS))
"""Every revision the client speaks, newest (its first offer) first."""

_SESSION = re.compile(r"session", re.IGNORECASE)
_PROTOCOL_VERSION = re.compile(r"protocol[ -]?version", re.IGNORECASE)
# The SDK's own words when a handshake or a discover result names no revision it speaks.
_SDK_MISMATCH = re.compile(r"unsupported protocol version|no mutually supported", re.IGNORECASE)


@dataclass(frozen=True)
class Negotiated:
    """What a server settled on, kept across SDK clients for the same server."""

    protocol_version: str
    discover: DiscoverResult | None = None
    """The 2026-07-28 ``server/discover`` answer, reused to adopt the revision without asking again."""
    session: bool = False
    """The server handed out an ``Mcp-Session-Id`` (it keeps state per client)."""

    @property
    def modern(self) -> bool:
        return self.protocol_version in MODERN_PROTOCOL_VERSIONS

    def connect_mode(self) -> str:
        """The SDK ``Client`` mode that reconnects on this revision without probing."""
        return self.protocol_version if self.modern else "legacy"


def session_lost(exchange: Exchange) -> bool:
    """The server no longer knows the session the request carried."""
    if not exchange.session_sent or exchange.failure is not None:
        return False
    return exchange.status == 404 or (exchange.status == 400 and _SESSION.search(exchange.error_excerpt) is not None)


def revision_refused(error: BaseException, exchange: Exchange) -> bool:
    """The server refused the revision the request was sent on (it may speak another)."""
    if isinstance(error, MCPError) and error.code == UNSUPPORTED_PROTOCOL_VERSION:
        return True
    return exchange.status == 400 and _PROTOCOL_VERSION.search(exchange.error_excerpt) is not None


def mismatch_detail(error: BaseException) -> str | None:
    """Why negotiation found no revision both sides speak, or ``None`` when that is not what failed."""
    if isinstance(error, MCPError) and error.code == UNSUPPORTED_PROTOCOL_VERSION:
        supported = _supported(error)
        theirs = ", ".join(supported) if supported else "not said"
        return f"it speaks {theirs}; this client speaks {', '.join(SPOKEN_REVISIONS)}"
    if isinstance(error, RuntimeError) and _SDK_MISMATCH.search(str(error)):
        return f"{str(error)[:200]}; this client speaks {', '.join(SPOKEN_REVISIONS)}"
    return None


def _supported(error: MCPError) -> list[str] | None:
    try:
        return UnsupportedProtocolVersionErrorData.model_validate(error.error.data).supported
    except ValidationError:
        return None
