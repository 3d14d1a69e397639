"""The tool catalog: every reachable server's tools, cached per server with a TTL.

Each server's listing is cached on its own, so one server's failure or refresh leaves the others'
entries alone. A server that cannot be listed contributes no tools (the model should not be offered
tools it cannot reach) and is asked again next time; its breaker makes that cheap while it is down.
It is not forgotten, though: ``failure()`` keeps why, for ``/api/tools`` and ``/api/health`` to show.
The catalog honours its own TTL rather than the 2026-07-28 ``ttlMs`` of the listing: the SDK's
servers (ours included) leave it at 0, which would mean a tools/list before every turn.

A listing also carries what the server says about itself (``apps.common.capabilities``): its capability
statuses, kept per server for ``/api/tools`` and ``/api/health``, and for each tool whether it can run now. A
server that says nothing has no statuses and every tool available.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp_types import Tool

from apps.agent_core.gateway.errors import McpServerError
from apps.agent_core.model import ToolSpec
from apps.common.capabilities import Capability, read_capabilities, read_unavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolListing:
    """One server's answer to ``tools/list``: its tools and its capability statuses."""

    tools: list[ToolSpec]
    capabilities: list[Capability] = field(default_factory=list)


ToolLister = Callable[[], Awaitable[ToolListing]]


def tool_listing(server: str, tools: list[Tool], meta: Mapping[str, Any] | None) -> ToolListing:
    """The catalog's view of a listing; ``meta`` is the result's ``_meta`` (of its first page)."""
    return ToolListing([tool_spec(server, tool) for tool in tools], read_capabilities(meta))


def tool_spec(server: str, tool: Tool) -> ToolSpec:
    """The catalog's view of one tool. Missing hints take MCP's defaults, which assume the worst."""
    hints = tool.annotations
    read_only = bool(hints and hints.read_only_hint)
    destructive_hint = hints.destructive_hint if hints else None
    idempotent_hint = hints.idempotent_hint if hints else None
    open_world_hint = hints.open_world_hint if hints else None
    unavailable = read_unavailable(tool.meta)
    return ToolSpec(
        server=server,
        name=tool.name,
        description=(tool.description or tool.title or "").strip(),
        input_schema=tool.input_schema,
        output_schema=tool.output_schema,
        read_only=read_only,
        # MCP reads destructive and idempotent only when readOnlyHint is false: a tool that changes
        # nothing destroys nothing, and calling it twice is the same as calling it once.
        destructive=False if read_only else (destructive_hint if destructive_hint is not None else True),
        idempotent=True if read_only else bool(idempotent_hint),
        open_world=open_world_hint if open_world_hint is not None else True,
        available=unavailable is None,
        unavailable_reason=unavailable.reason if unavailable else None,
        setting=unavailable.setting if unavailable else None,
    )


@dataclass(frozen=True)
class _Entry:
    tools: tuple[ToolSpec, ...]
    capabilities: tuple[Capability, ...]
    loaded_at: float


class ToolCatalog:
    def __init__(
        self,
        listers: Mapping[str, ToolLister],
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError(f"ttl_seconds must not be negative, not {ttl_seconds}")
        self._listers = dict(listers)
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._errors: dict[str, McpServerError] = {}
        # One load at a time: callers arriving while it runs find fresh entries instead of listing again.
        self._loading = asyncio.Lock()

    async def tools(self, *, refresh: bool = False) -> list[ToolSpec]:
        """Every cached or freshly listed tool, servers in configuration order."""
        async with self._loading:
            stale = [server for server in self._listers if refresh or not self._is_fresh(server)]
            if stale:
                await asyncio.gather(*(self._load(server) for server in stale))
            return [tool for server in self._listers if (entry := self._entries.get(server)) for tool in entry.tools]

    def cached(self, server: str, tool: str) -> ToolSpec | None:
        """The tool as last listed, without loading anything (for the call path)."""
        entry = self._entries.get(server)
        return next((spec for spec in entry.tools if spec.name == tool), None) if entry else None

    def invalidate(self, server: str) -> None:
        """Forget one server's listing: the next ``tools()`` lists it again, whatever the TTL says."""
        self._entries.pop(server, None)

    def capabilities(self, server: str) -> list[Capability]:
        """The server's capability statuses as last listed; none while its listing is not held."""
        entry = self._entries.get(server)
        return list(entry.capabilities) if entry is not None else []

    def last_error(self, server: str) -> str | None:
        error = self._errors.get(server)
        return str(error) if error is not None else None

    def failure(self, server: str) -> McpServerError | None:
        """Why the server's last listing failed; ``None`` once it lists again."""
        return self._errors.get(server)

    def count(self, server: str) -> int | None:
        """How many tools the server listed last, if its listing is still held."""
        entry = self._entries.get(server)
        return len(entry.tools) if entry is not None else None

    def _is_fresh(self, server: str) -> bool:
        entry = self._entries.get(server)
        return entry is not None and self._clock() - entry.loaded_at < self._ttl

    async def _load(self, server: str) -> None:
        try:
            listing = await self._listers[server]()
        except McpServerError as exc:
            self._entries.pop(server, None)
            if server not in self._errors:  # once per outage, not on every turn of every run
                log.warning("cannot list the tools of %s; it offers none until it answers: %s", server, exc)
            self._errors[server] = exc
            return
        self._entries[server] = _Entry(tuple(listing.tools), tuple(listing.capabilities), self._clock())
        if self._errors.pop(server, None) is not None:
            log.info("listed the tools of %s again", server)
