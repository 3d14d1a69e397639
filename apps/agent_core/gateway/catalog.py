"""The tool catalog: every reachable server's tools, cached per server with a TTL.

Each server's listing is cached on its own, so one server's failure or refresh leaves the others'
entries alone. A server that cannot be listed contributes no tools (the model should not be offered
tools it cannot reach) and is asked again next time; its breaker makes that cheap while it is down.
The catalog honours its own TTL rather than the 2026-07-28 ``ttlMs`` of the listing: the SDK's
servers (ours included) leave it at 0, which would mean a tools/list before every turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from apps.agent_core.gateway.errors import McpServerError
from apps.agent_core.reasoning.base import ToolSpec

log = logging.getLogger(__name__)

ToolLister = Callable[[], Awaitable[list[ToolSpec]]]


@dataclass(frozen=True)
class _Entry:
    tools: tuple[ToolSpec, ...]
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
        self._errors: dict[str, str] = {}
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

    def last_error(self, server: str) -> str | None:
        return self._errors.get(server)

    def _is_fresh(self, server: str) -> bool:
        entry = self._entries.get(server)
        return entry is not None and self._clock() - entry.loaded_at < self._ttl

    async def _load(self, server: str) -> None:
        try:
            tools = await self._listers[server]()
        except McpServerError as exc:
            self._entries.pop(server, None)
            if server not in self._errors:  # once per outage, not on every turn of every run
                log.warning("cannot list the tools of %s; it offers none until it answers: %s", server, exc)
            self._errors[server] = str(exc)
            return
        self._entries[server] = _Entry(tuple(tools), self._clock())
        if self._errors.pop(server, None) is not None:
            log.info("listed the tools of %s again", server)
