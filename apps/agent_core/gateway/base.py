"""How the agent core reaches tools: one gateway over every configured MCP server."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from apps.agent_core.model import ToolCall, ToolOutcome
from apps.agent_core.reasoning.base import ToolSpec


class ServerHealth(BaseModel):
    server: str
    url: str
    reachable: bool
    latency_ms: float | None = None
    breaker: str = "closed"
    """``closed`` (calls flow), ``open`` (failing fast while the server is down) or ``half_open`` (probing)."""
    error: str | None = None


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

    async def call(
        self, call: ToolCall, *, timeout: float | None = None, idempotency_key: str | None = None
    ) -> ToolOutcome:
        """Call one tool. Never raises for tool or transport failures: they come back as ``ok=False``.

        ``idempotency_key`` is sent in the request's ``_meta`` (``IDEMPOTENCY_KEY_META``): the same key on
        a resent call lets a server that honours it answer without applying the call twice.
        """
        ...

    async def health(self) -> list[ServerHealth]: ...

    async def aclose(self) -> None: ...
