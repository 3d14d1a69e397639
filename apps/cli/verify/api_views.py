"""The parts of the agent core's answers that ``verify`` reads, as typed models.

Only the fields the checks use are declared and everything else is ignored, so a newer platform that adds
fields still verifies; a missing or mistyped field is an answer "not as the platform's API gives it".
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled", "needs_attention"})


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ReasonerView(_View):
    name: str
    model: str | None = None


class ServerView(_View):
    server: str
    url: str = ""
    reachable: bool
    latency_ms: float | None = None
    breaker: str = "closed"
    error: str | None = None


class HealthView(_View):
    """``GET /api/health``."""

    status: str
    reasoner: ReasonerView
    store: str
    servers: list[ServerView]


class ToolView(_View):
    """One entry of ``GET /api/tools``."""

    server: str
    name: str
    input_schema: dict[str, Any] = Field(default_factory=dict)
    read_only: bool = False
    destructive: bool = True
    available: bool = True
    """False when its server says it cannot run now (no credentials, no cluster, a setting that disables it)."""
    unavailable_reason: str | None = None
    setting: str | None = None

    @property
    def required_arguments(self) -> list[str]:
        required = self.input_schema.get("required") or []
        return [str(name) for name in required] if isinstance(required, list) else []


class ToolList(_View):
    tools: list[ToolView]


class StepState(_View):
    id: str
    server: str | None = None
    tool: str | None = None
    status: str
    error: str | None = None
    duration_ms: float | None = None


class UsageView(_View):
    input_tokens: int = 0
    output_tokens: int = 0


class RunState(_View):
    """``GET /api/runs/{id}``: what a check needs to judge a run it started."""

    id: str
    status: str
    reasoner: str = ""
    model: str | None = None
    error: str | None = None
    final_answer: str | None = None
    duration_ms: float | None = None
    usage: UsageView = Field(default_factory=UsageView)
    steps: list[StepState] = Field(default_factory=list)
    turns: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def settled(self) -> bool:
        """Finished, or stopped at an approval (which ``verify`` never gives)."""
        return self.status in TERMINAL_STATUSES or self.status == "awaiting_approval"


class RunAccepted(_View):
    id: str
    status: str
