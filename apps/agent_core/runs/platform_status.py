"""What the platform can do right now: its tools and the health of what runs depend on (store, servers, reasoner)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from apps.agent_core.gateway.base import ServerHealth, ServerStatus
from apps.agent_core.model import ToolSpec


class ToolList(BaseModel):
    tools: list[ToolSpec]
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
