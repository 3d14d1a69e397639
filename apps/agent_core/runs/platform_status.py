"""What the platform can do right now: its tools and the health of what runs depend on (store, servers, reasoner)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from apps.agent_core.gateway.base import ServerHealth, ServerStatus
from apps.agent_core.model import ToolSpec
from apps.agent_core.reasoning.local_model import LocalModelReport


class ToolList(BaseModel):
    tools: list[ToolSpec]
    """Every listed tool, also one its server cannot run now (``available`` false, with the reason and setting)."""
    servers: list[ServerStatus] = Field(default_factory=list)
    """Every configured server, also one whose tools could not be listed (with its error)."""


class ReasonerInfo(BaseModel):
    name: str
    model: str | None


class HealthReport(BaseModel):
    status: Literal["ok", "degraded"]
    reasoner: ReasonerInfo
    store: str
    servers: list[ServerHealth]
    """Each with its capability statuses, which are shown but never make ``status`` degraded."""
    local_model: LocalModelReport | None = None
    """With ``AGENTIC_REASONER=auto`` and no model configured: what a fresh look for a local model server found."""
