"""Folding a run's journal into the view the API returns: status, steps, model turns, approvals, its ending."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from apps.agent_core.model import (
    TERMINAL_STATUSES,
    RunHeader,
    RunKind,
    RunStatus,
    RunTrigger,
    TokenUsage,
    ToolProgress,
)
from apps.agent_core.runs.events import (
    AlertResolved,
    ApprovalDecided,
    ApprovalRequested,
    ModelTurnRecorded,
    Recorded,
    RunFinished,
    RunStarted,
    StepFinished,
    StepProgress,
    StepRecovered,
    StepStarted,
)

StepViewStatus = Literal[
    "running", "awaiting_approval", "succeeded", "failed", "skipped", "rejected", "recovered", "cancelled"
]
ApprovalStatus = Literal["pending", "approved", "rejected", "expired", "cancelled"]


class StepView(BaseModel):
    id: str
    server: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    status: StepViewStatus
    attempt: int = 1
    result: Any = None
    error: str | None = None
    retryable: bool | None = None
    """For a failed step, whether the same call may succeed later (its server's word); ``None`` if unsaid."""
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float | None = None
    recovered_by: str | None = None
    """For a ``recovered`` workflow step: the fallback step whose result stands in for it."""
    progress: ToolProgress | None = None
    """While it runs, what its tool last reported of its progress (journaled at most once a second);
    ``None`` once it has finished, or if the tool reports none."""


class ApprovalView(BaseModel):
    id: str
    step_id: str
    server: str
    tool: str
    arguments: dict[str, Any]
    arguments_hash: str
    requested_at: float
    expires_at: float
    status: ApprovalStatus = "pending"
    decided_by: str | None = None
    decided_at: float | None = None
    reason: str | None = None


class TurnView(BaseModel):
    index: int
    model: str | None = None
    text: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    stop_reason: str
    usage: TokenUsage = Field(default_factory=TokenUsage)
    duration_ms: float = 0.0
    at: float


class RunView(BaseModel):
    id: str
    kind: RunKind
    status: RunStatus
    owner: str
    title: str
    request: dict[str, Any]
    trigger: RunTrigger
    reasoner: str
    model: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    duration_ms: float | None
    final_answer: str | None
    error: str | None
    usage: TokenUsage
    steps: list[StepView]
    turns: list[TurnView]
    approvals: list[ApprovalView]
    last_event_id: int
    trigger_resolved_at: float | None = None
    """For a run an alert started: when Alertmanager said the alert resolved (its ``endsAt``); else ``None``."""


class _Fold:
    """The run's journal, read in order: each event changes what the view will show."""

    def __init__(self) -> None:
        self.steps: dict[str, StepView] = {}
        self.turns: list[TurnView] = []
        self.approvals: dict[str, ApprovalView] = {}
        self.started: Recorded | None = None
        self.finished: tuple[Recorded, RunFinished] | None = None
        self.usage = TokenUsage()
        self.resolved_at: float | None = None

    def add(self, recorded: Recorded) -> None:
        event, at = recorded.event, recorded.at
        if isinstance(event, RunStarted):
            self.started = self.started or recorded
        elif isinstance(event, StepStarted):
            self.steps[event.step_id] = StepView(
                id=event.step_id,
                server=event.server,
                tool=event.tool,
                arguments=event.arguments,
                status="running",
                attempt=event.attempt,
                started_at=at,
            )
        elif isinstance(event, StepFinished):
            self._finish_step(event, at)
        elif isinstance(event, StepProgress):
            step = self.steps.get(event.step_id)
            if step is not None and step.status == "running" and step.attempt == event.attempt:
                report = ToolProgress.model_validate(event.model_dump(include=set(ToolProgress.model_fields)))
                self.steps[event.step_id] = step.model_copy(update={"progress": report})
        elif isinstance(event, StepRecovered):
            step = self.steps.get(event.step_id) or StepView(id=event.step_id, status="recovered")
            self.steps[event.step_id] = step.model_copy(
                update={"status": "recovered", "recovered_by": event.fallback_step_id}
            )
        elif isinstance(event, ModelTurnRecorded):
            # Field by field, not through dumps: a view of a long conversation folds many turns per request.
            self.turns.append(
                TurnView(
                    index=event.index,
                    model=event.model,
                    text=event.text,
                    tool_calls=[call.model_dump() for call in event.tool_calls],
                    stop_reason=event.stop_reason,
                    usage=event.usage,
                    duration_ms=event.duration_ms,
                    at=at,
                )
            )
            self.usage = self.usage.plus(event.usage)
        elif isinstance(event, ApprovalRequested):
            self._request_approval(event)
        elif isinstance(event, ApprovalDecided):
            approval = self.approvals.get(event.approval_id)
            if approval is not None and approval.status == "pending":  # the first decision is the decision
                self.approvals[event.approval_id] = approval.model_copy(
                    update={
                        "status": event.decision,
                        "decided_by": event.decided_by,
                        "decided_at": at,
                        "reason": event.reason,
                    }
                )
        elif isinstance(event, RunFinished):
            self.finished = self.finished or (recorded, event)
        elif isinstance(event, AlertResolved):
            self.resolved_at = self.resolved_at or event.ends_at

    def _finish_step(self, event: StepFinished, at: float) -> None:
        step = self.steps.get(event.step_id) or StepView(id=event.step_id, status="running")
        self.steps[event.step_id] = step.model_copy(
            update={
                "status": event.status,
                "result": event.result,
                "error": event.error,
                "retryable": event.retryable,
                "attempt": event.attempt,
                "finished_at": at,
                "duration_ms": event.duration_ms,
                "progress": None,
                "server": step.server or event.server,
                "tool": step.tool or event.tool,
            }
        )

    def _request_approval(self, event: ApprovalRequested) -> None:
        self.approvals[event.id] = ApprovalView.model_validate(event.model_dump(exclude={"type", "v"}))
        step = self.steps.get(event.step_id)
        self.steps[event.step_id] = (
            step.model_copy(update={"status": "awaiting_approval"})
            if step
            else StepView(
                id=event.step_id,
                server=event.server,
                tool=event.tool,
                arguments=event.arguments,
                status="awaiting_approval",
            )
        )

    def status(self, header: RunHeader) -> RunStatus:
        if self.finished is not None:
            return self.finished[1].status
        if header.status in TERMINAL_STATUSES:
            return header.status  # a journal from before every ending was journaled (none is written so today)
        if any(approval.status == "pending" for approval in self.approvals.values()):
            return "awaiting_approval"
        return "running" if self.started is not None else "queued"

    def settle(self) -> None:
        """A finished run has nothing in flight: what was still waiting or running did not complete."""
        for approval_id, approval in self.approvals.items():
            if approval.status == "pending":
                self.approvals[approval_id] = approval.model_copy(update={"status": "cancelled"})
        for step_id, step in self.steps.items():
            if step.status in ("running", "awaiting_approval"):
                self.steps[step_id] = step.model_copy(update={"status": "cancelled"})


def project(header: RunHeader, journal: list[Recorded]) -> RunView:
    """The run as the API shows it: who asked what (the header) and everything its journal says happened.

    Status, steps, turns, approvals, usage and the ending come from the journal alone, so the view can
    never show a state the journal does not hold, whenever the header was read.
    """
    fold = _Fold()
    for recorded in journal:
        fold.add(recorded)
    status = fold.status(header)
    final_answer, error, finished_at = header.final_answer, header.error, header.finished_at
    if fold.finished is not None:
        ended, end = fold.finished
        final_answer, error, finished_at = end.final_answer, end.error, ended.at
    if status in TERMINAL_STATUSES:
        fold.settle()
    started_at = fold.started.at if fold.started is not None else header.started_at
    duration = None
    if started_at is not None and finished_at is not None:
        duration = round((finished_at - started_at) * 1000, 3)
    return RunView(
        id=header.id,
        kind=header.kind,
        status=status,
        owner=header.owner,
        title=header.title,
        request=header.request,
        trigger=header.trigger,
        reasoner=header.reasoner,
        model=header.model,
        created_at=header.created_at,
        started_at=started_at,
        finished_at=finished_at,
        duration_ms=duration,
        final_answer=final_answer,
        error=error,
        usage=fold.usage,
        steps=list(fold.steps.values()),
        turns=fold.turns,
        approvals=list(fold.approvals.values()),
        last_event_id=journal[-1].seq if journal else 0,
        trigger_resolved_at=fold.resolved_at,
    )
