"""The journal's events, one typed model per kind: what the writer records, what replay and the view read.

The store keeps an event as its kind (``RunEvent.type``) and a JSON object (``RunEvent.data``); this
module is the only place that knows what the object holds. ``record`` turns a model into what the
store writes, ``read`` turns a stored event back into its model, so every reader — replay, the run
view, the SSE stream, the audit trail — sees the same typed facts the writer recorded.

Versioned: each model carries ``v``, the shape it was written in. Version 1 is the shape journals had
before this module existed (they carry no ``v`` and load as version 1: the fields added since have
defaults). A change that old events cannot satisfy with defaults gets a new version and a reader of
the old one; ``tests/fixtures/journals`` holds journals written by earlier code that must keep loading.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from apps.agent_core.model import ModelTurn, RunEvent, RunKind, RunStatus, RunTrigger, ToolProgress

__all__ = [
    "AlertResolved",
    "ApprovalDecided",
    "ApprovalDecisionRefused",
    "ApprovalRequested",
    "CancelRequested",
    "DamagedEvent",
    "Decision",
    "JournalEvent",
    "ModelTurnRecorded",
    "NotificationFailed",
    "NotificationOccasion",
    "NotificationSent",
    "Recorded",
    "RunFinished",
    "RunHandedOff",
    "RunResumed",
    "RunStarted",
    "StepFinished",
    "StepOutcomeStatus",
    "StepProgress",
    "StepRecovered",
    "StepStarted",
    "decision_key",
    "read",
]

EVENT_VERSION = 1

StepOutcomeStatus = Literal["succeeded", "failed", "skipped", "rejected"]
"""How a step ended, as journaled: ``rejected`` when a person said no or the approval expired."""
Decision = Literal["approved", "rejected", "expired"]


class _Event(BaseModel):
    # Unknown keys are ignored, not refused: a journal written by a newer replica during a rolling update
    # must still be readable by an older one.
    model_config = ConfigDict(frozen=True, extra="ignore")

    v: int = EVENT_VERSION

    def stored_data(self) -> dict[str, Any]:
        """The JSON object the store keeps (the kind is stored beside it, not in it)."""
        return self.model_dump(mode="json", exclude={"type"})


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    kind: RunKind
    reasoner: str
    model: str | None = None
    trigger: RunTrigger | None = None
    """What started the run, for the audit trail (``None`` in journals written before triggers: the API)."""


class ModelTurnRecorded(_Event, ModelTurn):
    """One model response (or one offline plan step); a resumed run reads it back instead of asking again."""

    type: Literal["model_turn"] = "model_turn"

    def turn(self) -> ModelTurn:
        return ModelTurn.model_validate(self.model_dump(exclude={"type", "v"}))


class StepStarted(_Event):
    """The intent, journaled before the call: a step with an intent and no outcome was in flight."""

    type: Literal["step_started"] = "step_started"
    step_id: str
    call_id: str | None = None
    server: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    attempt: int = 1
    idempotency_key: str | None = None
    retry: str | None = None
    """Set when this attempt repeats one whose outcome was lost with its replica."""


class StepFinished(_Event):
    type: Literal["step_finished"] = "step_finished"
    step_id: str
    status: StepOutcomeStatus
    attempt: int = 1
    result: Any = None
    """As journaled: whole when small, else a preview (``steps.stored_result``)."""
    error: str | None = None
    retryable: bool | None = None
    """For a failure, whether the same call may succeed later: its server's word (``ToolOutcome.retryable``),
    ``False`` for a refusal; ``None`` when nobody said. A resumed run reads it back to decide the next attempt."""
    duration_ms: float | None = None
    server: str | None = None
    """Set when the step never started (refused before the call), so the view can still name its tool."""
    tool: str | None = None


class StepProgress(_Event, ToolProgress):
    """What a running step's tool last reported of its progress. Journaled at most once a second per step,
    and once more before the step finishes if it changed since (``runs/progress.py``); replay ignores it."""

    type: Literal["step_progress"] = "step_progress"
    step_id: str
    attempt: int = 1


class StepRecovered(_Event):
    """A failed workflow step whose ``on_error`` fallback succeeded: the fallback's result stands in for it."""

    type: Literal["step_recovered"] = "step_recovered"
    step_id: str
    fallback_step_id: str


class ApprovalRequested(_Event):
    type: Literal["approval_requested"] = "approval_requested"
    id: str
    step_id: str
    server: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    arguments_hash: str
    """What the approval is bound to: approving these arguments can never approve different ones."""
    requested_at: float
    expires_at: float


class ApprovalDecided(_Event):
    """The one decision on an approval: the store writes at most one per approval (``decision_key``)."""

    type: Literal["approval_decided"] = "approval_decided"
    approval_id: str
    decision: Decision
    decided_by: str | None = None
    """The API key's name; ``None`` when it expired."""
    reason: str | None = None


class ApprovalDecisionRefused(_Event):
    """A decision that came after the approval was already decided: recorded for the audit trail, never acted on."""

    type: Literal["approval_decision_refused"] = "approval_decision_refused"
    approval_id: str
    decision: Decision
    by: str
    reason: str


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    status: RunStatus
    final_answer: str | None = None
    error: str | None = None


class CancelRequested(_Event):
    type: Literal["cancel_requested"] = "cancel_requested"
    by: str


class RunResumed(_Event):
    """Another replica took the run over and resumed it from this journal."""

    type: Literal["run_resumed"] = "run_resumed"
    by: str
    previous_owner: str | None = None
    retried_steps: list[str] = Field(default_factory=list)
    unsafe_steps: list[str] = Field(default_factory=list)


class RunHandedOff(_Event):
    """The replica let the run go (shutting down) at a step boundary, for another to resume at once."""

    type: Literal["run_handed_off"] = "run_handed_off"
    by: str
    reason: str


NotificationOccasion = Literal["awaiting_approval", "finished"]
"""When a run's notification sinks are told: it waits for a person, or it has ended."""


class NotificationSent(_Event):
    """A notification to one sink, journaled *before* it is sent under the key ``key`` (``once``): of every replica
    that sees the run reach this point, exactly one sends it (at most once; ``triggers/notify/dispatch.py``)."""

    type: Literal["notification_sent"] = "notification_sent"
    sink: str
    event: NotificationOccasion
    status: RunStatus
    approval_id: str | None = None
    """For ``awaiting_approval``: the approval it asks a person to decide."""
    key: str


class NotificationFailed(_Event):
    """A notification that did not get through after its attempts: what the sink (or the network) last said."""

    type: Literal["notification_failed"] = "notification_failed"
    sink: str
    event: NotificationOccasion
    attempts: int
    error: str


class AlertResolved(_Event):
    """Alertmanager said the alert whose firing started this run has resolved (written once per run)."""

    type: Literal["alert_resolved"] = "alert_resolved"
    fingerprint: str
    ends_at: float
    """When the alert ended, as Alertmanager says (its ``endsAt``), epoch seconds."""


JournalEvent = Annotated[
    RunStarted
    | ModelTurnRecorded
    | StepStarted
    | StepFinished
    | StepProgress
    | StepRecovered
    | ApprovalRequested
    | ApprovalDecided
    | ApprovalDecisionRefused
    | RunFinished
    | CancelRequested
    | RunResumed
    | RunHandedOff
    | NotificationSent
    | NotificationFailed
    | AlertResolved,
    Field(discriminator="type"),
]
_EVENTS: TypeAdapter[JournalEvent] = TypeAdapter(JournalEvent)


def decision_key(approval_id: str) -> str:
    """The key the store writes at most once per run: two decisions on one approval cannot both land."""
    return f"decision:{approval_id}"


class DamagedEvent(ValueError):
    """A stored event does not match its kind's model: the message names the run, the event and the problem."""


class Recorded(BaseModel):
    """A journaled event: its place in the run's journal and what it says."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: float
    event: JournalEvent


def read(stored: RunEvent) -> Recorded:
    try:
        event = _EVENTS.validate_python({**stored.data, "type": stored.type})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'][1:]) or 'data'}: {error['msg']}" for error in exc.errors()
        )
        raise DamagedEvent(
            f"event {stored.seq} ({stored.type}) of run {stored.run_id} is damaged: {problems}"
        ) from None
    return Recorded(seq=stored.seq, at=stored.at, event=event)
