"""How the agent core reaches tools: one gateway over every configured MCP server."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel

from apps.agent_core.gateway.errors import FailureKind
from apps.agent_core.gateway.progress import OnProgress
from apps.agent_core.model import ToolCall, ToolOutcome, ToolSpec
from apps.common.capabilities import Capability


class ServerStatus(BaseModel):
    """One configured server as the gateway last saw it; a server that cannot be used says why."""

    server: str
    url: str
    """Its /mcp URL, or for a stdio server its command line; a servers-file entry as written there (``${NAME}``
    references not filled in), so no secret is shown."""
    headers: list[str] = []
    """The names of the headers sent to it (``Authorization``, say); their values are never shown."""
    reachable: bool
    """It answered MCP the last time it was asked (listing its tools, or the health probe)."""
    protocol_version: str | None = None
    """The MCP revision negotiated with it, e.g. ``2026-07-28`` or ``2025-11-25``; ``None`` until it is met."""
    transport: Literal["streamable-http", "stdio"] = "streamable-http"
    session: bool = False
    """It keeps a session (``Mcp-Session-Id``) for this client."""
    tools: int | None = None
    """How many tools it listed last; ``None`` when they could not be listed (or were not yet)."""
    capabilities: list[Capability] = []
    """What its tools need and whether it is there, as its last listing said (``apps.common.capabilities``):
    shown, never counted against health. A server that says nothing has none."""
    failure: FailureKind | None = None
    """What kind of failure ``error`` is: ``unreachable``, ``circuit_open``, ``timeout``, ``rejected`` or
    ``protocol_mismatch`` (the server answered but shares no MCP revision with this client)."""
    error: str | None = None


class ServerHealth(ServerStatus):
    latency_ms: float | None = None
    probe: str | None = None
    """The MCP request that answered: ``server/discover`` (2026-07-28) or ``ping`` (older revisions)."""
    breaker: str = "closed"
    """``closed`` (calls flow), ``open`` (failing fast while the server is down) or ``half_open`` (probing)."""


IDEMPOTENCY_KEY_META = "agentic-workflows/idempotency-key"
"""The ``_meta`` key of a ``tools/call`` that carries the step's idempotency key (run, step, attempt)."""


class ToolGateway(Protocol):
    @property
    def servers(self) -> dict[str, str]:
        """Every configured server: name → URL of its /mcp endpoint."""
        ...

    async def tools(self, *, refresh: bool = False) -> list[ToolSpec]:
        """Every tool of every reachable server, from a cache with a TTL; ``refresh`` forces a reload."""
        ...

    def server_statuses(self) -> list[ServerStatus]:
        """Every configured server as the last listing left it (nothing is sent): tools, revision, error."""
        ...

    async def call(
        self,
        call: ToolCall,
        *,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        on_progress: OnProgress | None = None,
    ) -> ToolOutcome:
        """Call one tool. Never raises for tool or transport failures: they come back as ``ok=False``.

        ``idempotency_key`` is sent in the request's ``_meta`` (``IDEMPOTENCY_KEY_META``): the same key on
        a resent call lets a server that honours it answer without applying the call twice.

        ``timeout`` is an idle timeout: each progress report of the tool moves it on, up to the gateway's
        hard limit (``progress.py``), and is passed to ``on_progress``.
        """
        ...

    async def health(self) -> list[ServerHealth]: ...

    async def aclose(self) -> None: ...
