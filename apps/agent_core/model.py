"""What a run is: its header (small, listable) and its events (the journal everything else is derived from).

A run's detail — steps, model turns, approvals, final answer — is never stored as one document.
Each change is appended as a ``RunEvent`` with a per-run sequence number; ``projection.py`` folds the
events into the ``RunView`` the API returns. The same events feed Server-Sent Events (resumable by
sequence number), form the audit trail, and are the journal a resumed run replays. The header holds
what listing and coordination need (status, owner, timing, usage, the lease of the replica running
it) and carries a version for conditional writes, so several replicas can share one store.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["queued", "running", "awaiting_approval", "succeeded", "failed", "cancelled", "needs_attention"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "needs_attention"})
ACTIVE_STATUSES: tuple[RunStatus, ...] = ("queued", "running", "awaiting_approval")
"""A run in one of these is owned by a replica (or waits to be taken over); the others are final."""
RunKind = Literal["task", "workflow"]
PROGRESS_MESSAGE_CHARS = 300
"""A progress message is kept to this many characters: every report may become a journal item."""

EventType = Literal[
    "run_started",
    "model_turn",
    "step_started",
    "step_finished",
    "step_progress",
    "step_recovered",
    "approval_requested",
    "approval_decided",
    "approval_decision_refused",
    "run_finished",
    "cancel_requested",
    "run_resumed",
    "run_handed_off",
    "notification_sent",
    "notification_failed",
    "alert_resolved",
]
"""The kinds of journal event; what each holds is its model in ``runs/events.py``."""


class TokenUsage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0

    def plus(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


TriggerKind = Literal["api", "schedule", "alert", "mcp", "a2a"]
TRIGGER_KINDS: tuple[TriggerKind, ...] = ("api", "schedule", "alert", "mcp", "a2a")


class RunTrigger(BaseModel):
    """What started a run: a person or program through the API, a schedule's tick, or an alert's rule."""

    model_config = ConfigDict(frozen=True)

    kind: TriggerKind = "api"
    id: str | None = None
    """The schedule's id, or the alert rule's name; ``None`` for the API."""
    name: str | None = None
    """For people: the schedule's name, or the alert's ``alertname``."""
    detail: dict[str, str] = Field(default_factory=dict)
    """What tells this start apart: a schedule's ``tick`` (ISO 8601), an alert's ``fingerprint`` and ``starts_at``."""
    notify: list[str] = Field(default_factory=list)
    """Names of the notification sinks (``AGENTIC_NOTIFY``) told when the run waits for a person or ends."""


class RunHeader(BaseModel):
    """The small, frequently updated part of a run: enough to list, filter and coordinate."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: RunKind
    status: RunStatus
    owner: str
    """The name of the API key that started the run (``local`` when keys are off)."""
    title: str
    """The task text or the workflow's name, cut to 200 characters, for lists."""
    request: dict[str, Any]
    """What was asked: ``{"task": ...}`` or ``{"workflow": ...}``."""
    reasoner: str
    model: str | None = None
    created_at: float
    updated_at: float
    started_at: float | None = None
    finished_at: float | None = None
    final_answer: str | None = None
    error: str | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)
    trigger: RunTrigger = Field(default_factory=RunTrigger)
    """What started it; runs stored before triggers existed read as started through the API."""
    cancel_requested: bool = False
    lease_owner: str | None = None
    """The replica running the run (see ``runs/lease.py``); ``None`` once it has finished or been let go."""
    lease_expires_at: float | None = None
    """Epoch seconds; after this, any replica may take the run over and resume it from its journal."""
    version: int = 0
    """Incremented by every header write; writes are conditional on the version read."""


class RunEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    seq: int
    """1, 2, 3… per run, assigned by the store; SSE uses it as the event id."""
    type: EventType
    data: dict[str, Any]
    """As stored; ``runs.events.read`` gives the typed event."""
    at: float


class ToolCall(BaseModel):
    """A tool the reasoner or a workflow wants called, in MCP terms."""

    id: str
    server: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolOutcome(BaseModel):
    """What came back: the structured result or text, or an error the model can read."""

    call_id: str
    ok: bool
    result: Any = None
    error: str | None = None
    duration_ms: float = 0.0
    attempts: int = 1
    retryable: bool | None = None
    """For a tool's own error result, what its server said (``agentic-workflows/retryable`` in ``_meta``):
    whether the same call may succeed if sent again; ``False`` for a step refused before its call.
    ``None`` when nobody said (a third-party server), and for failures of the transport, which the
    gateway's own retry rules cover."""


class ToolProgress(BaseModel):
    """What a running tool last said about its progress (MCP ``notifications/progress``)."""

    model_config = ConfigDict(frozen=True)

    progress: float = Field(allow_inf_nan=False)
    """How far it has got; grows with each report, in the tool's own unit."""
    total: float | None = Field(default=None, allow_inf_nan=False)
    """Where ``progress`` will end, when the tool knows."""
    message: str | None = Field(default=None, max_length=PROGRESS_MESSAGE_CHARS)


class ToolSpec(BaseModel):
    """One tool of one MCP server, as the catalog knows it."""

    server: str
    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None = None
    read_only: bool = False
    destructive: bool = True
    """MCP's default when a server says nothing: assume the worst."""
    idempotent: bool = False
    open_world: bool = True
    available: bool = True
    """False when its server says it cannot run now (``agentic-workflows/unavailable`` in the tool's ``_meta``,
    see ``apps.common.capabilities``): it is shown, but not offered to a planner or model, and a step naming it
    fails before any approval is asked."""
    unavailable_reason: str | None = None
    setting: str | None = None
    """What makes it available: the environment variable (or action) its server names."""

    def unavailable_message(self) -> str:
        """Why a step naming this unavailable tool is refused, and what to change."""
        message = f"{self.server}.{self.name} cannot run on its server now: {self.unavailable_reason or 'unavailable'}"
        return f"{message}; to enable it, set {self.setting}" if self.setting else message


def offered(tools: list[ToolSpec]) -> list[ToolSpec]:
    """The tools a planner or model may be given: those their servers can run now."""
    return [tool for tool in tools if tool.available]


class ModelTurn(BaseModel):
    """One model response, journaled as a ``model_turn`` event."""

    index: int
    model: str | None = None
    """``None`` when no model answered (the offline planner)."""
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop_reason: str
    usage: TokenUsage = Field(default_factory=TokenUsage)
    duration_ms: float = 0.0
    resume: dict[str, Any] | None = None
    """What a resumed run needs to continue the conversation without asking the model again: the
    turn's calls as the model wrote them and its message in the provider's format (``loop.py``)."""
