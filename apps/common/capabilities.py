"""Capability statuses: what a server's tools need, whether it is there, and the setting that changes it.

A server says this in its ``tools/list`` result, so any MCP client can read it and nothing new is served:

- the result's ``_meta["agentic-workflows/capabilities"]``: a list of ``Capability`` (``aws credentials``,
  ``kubernetes cluster``, ``scaling``), each naming the tools it gates;
- each tool that cannot run now: its own ``_meta["agentic-workflows/unavailable"]``, an ``Unavailable``
  (why, and the setting to change).

A server that says nothing (any third-party server) has no capability statuses and all its tools available.
These are never readiness checks: a missing credential or an empty allow-list is not fixed by a restart or by
taking the pod out of its Service, so ``/health`` and ``/ready`` do not fail for them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "CAPABILITIES_META",
    "UNAVAILABLE_META",
    "Capability",
    "CapabilityCheck",
    "CapabilityMeta",
    "Unavailable",
    "read_capabilities",
    "read_unavailable",
    "run_check",
    "unavailable_tools",
]

log = logging.getLogger(__name__)

CAPABILITIES_META = "agentic-workflows/capabilities"
UNAVAILABLE_META = "agentic-workflows/unavailable"
CHECK_TIMEOUT_SECONDS = 3.0
"""A check that takes longer is reported as not answered: a tools/list must not wait on a slow dependency."""


class Capability(BaseModel):
    """One thing a server's tools need, as found now."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=100)
    """What is needed, e.g. ``aws credentials``, ``kubernetes cluster``, ``scaling``."""
    ok: bool
    detail: str = Field(max_length=500)
    """What was found, or what is missing."""
    setting: str | None = Field(default=None, max_length=200)
    """The environment variable or action that changes it, e.g. ``AGENTIC_SCALABLE_NAMESPACES``."""
    tools: tuple[str, ...] = ()
    """The tools that need it."""
    transient: bool = False
    """Not ok for now only (an API server that did not answer the last probe): its tools stay offered, and a call
    fails with the real error where retries and fallbacks apply. Otherwise not ok makes its tools unavailable."""


class Unavailable(BaseModel):
    """Why one tool cannot run now, and what to change."""

    model_config = ConfigDict(frozen=True)

    reason: str = Field(max_length=500)
    setting: str | None = Field(default=None, max_length=200)


CapabilityCheck = Callable[[], Awaitable[list[Capability]]]
"""A server's capability statuses, found now. Blocking work belongs in a worker thread; the caller bounds it."""


def unavailable_tools(capabilities: Sequence[Capability]) -> dict[str, Unavailable]:
    """Each tool a lasting not-ok capability gates, with the first such capability's reason."""
    unavailable: dict[str, Unavailable] = {}
    for capability in capabilities:
        if capability.ok or capability.transient:
            continue
        for tool in capability.tools:
            unavailable.setdefault(tool, Unavailable(reason=capability.detail, setting=capability.setting))
    return unavailable


async def run_check(check: CapabilityCheck, timeout: float = CHECK_TIMEOUT_SECONDS) -> list[Capability]:
    """The check's statuses; a check that fails or overruns is itself reported, never raised."""
    try:
        with anyio.fail_after(timeout):
            return await check()
    except TimeoutError:
        detail = f"the capability checks did not answer within {timeout:g} s"
    except Exception as exc:  # a status report reports, it does not fail the listing
        log.warning("capability check failed", exc_info=True)
        detail = f"the capability checks failed: {str(exc)[:200] or type(exc).__name__}"
    return [Capability(name="capability checks", ok=False, detail=detail, transient=True)]


class CapabilityMeta:
    """SDK middleware: adds the capability statuses to every ``tools/list`` result (see the module docstring)."""

    def __init__(self, check: CapabilityCheck, *, timeout: float = CHECK_TIMEOUT_SECONDS) -> None:
        self._check = check
        self._timeout = timeout

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/list":
            return await call_next(ctx)
        result = await call_next(ctx)
        # The SDK hands middleware the result in its wire form (a dict with ``tools`` and ``_meta``).
        if not isinstance(result, dict) or not isinstance(result.get("tools"), list):
            return result
        capabilities = await run_check(self._check, self._timeout)
        unavailable = unavailable_tools(capabilities)
        tools = [
            {**tool, "_meta": {**(tool.get("_meta") or {}), UNAVAILABLE_META: why.model_dump(mode="json")}}
            if isinstance(tool, dict) and (why := unavailable.get(tool.get("name", ""))) is not None
            else tool
            for tool in result["tools"]
        ]
        statuses = [capability.model_dump(mode="json") for capability in capabilities]
        return {**result, "tools": tools, "_meta": {**(result.get("_meta") or {}), CAPABILITIES_META: statuses}}


def read_capabilities(meta: Mapping[str, Any] | None) -> list[Capability]:
    """The statuses in a ``tools/list`` result's ``_meta``; entries that do not parse are skipped, not fatal."""
    entries = (meta or {}).get(CAPABILITIES_META)
    if not isinstance(entries, list):
        return []
    capabilities = []
    for entry in entries:
        try:
            capabilities.append(Capability.model_validate(entry))
        except ValidationError:
            log.warning("a capability status that does not parse was skipped: %.200r", entry)
    return capabilities


def read_unavailable(meta: Mapping[str, Any] | None) -> Unavailable | None:
    """Why a listed tool cannot run now, from its ``_meta``; ``None`` when it says nothing (it can)."""
    entry = (meta or {}).get(UNAVAILABLE_META)
    if entry is None:
        return None
    try:
        return Unavailable.model_validate(entry)
    except ValidationError:
        # It said it cannot run but not in a shape we read: believe the claim, keep what can be shown.
        return Unavailable(reason=str(entry)[:500])
