"""Folding a run's events into the view the API returns: steps, model turns, approvals."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from apps.agent_core.model import TERMINAL_STATUSES, RunEvent, RunHeader, RunKind, RunStatus, TokenUsage

StepStatus = Literal["running", "awaiting_approval", "succeeded", "failed", "skipped", "rejected", "cancelled"]
ApprovalStatus = Literal["pending", "approved", "rejected", "expired", "cancelled"]


class StepView(BaseModel):
    id: str
    server: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    status: StepStatus
    attempt: int = 1
    result: Any = None
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float | None = None


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


def _fold_step(steps: dict[str, StepView], event: RunEvent) -> None:
    data = event.data
    step_id = str(data.get("step_id"))
    if event.type == "step_started":
        steps[step_id] = StepView(
            id=step_id,
            server=data.get("server"),
            tool=data.get("tool"),
            arguments=data.get("arguments") or {},
            status="running",
            attempt=int(data.get("attempt", 1)),
            started_at=event.at,
        )
        return
    step = steps.get(step_id) or StepView(id=step_id, status="running")
    steps[step_id] = step.model_copy(
        update={
            "status": data.get("status", "failed"),
            "result": data.get("result"),
            "error": data.get("error"),
            "attempt": int(data.get("attempt", step.attempt)),
            "finished_at": event.at,
            "duration_ms": data.get("duration_ms"),
            "server": step.server or data.get("server"),
            "tool": step.tool or data.get("tool"),
        }
    )


def project(header: RunHeader, events: list[RunEvent]) -> RunView:
    """The run as the API shows it: the header plus everything its events say happened."""
    steps: dict[str, StepView] = {}
    turns: list[TurnView] = []
    approvals: dict[str, ApprovalView] = {}
    finished: RunEvent | None = None
    for event in events:
        if event.type in ("step_started", "step_finished"):
            _fold_step(steps, event)
        elif event.type == "model_turn":
            turns.append(TurnView.model_validate({**event.data, "at": event.at}))
        elif event.type == "approval_requested":
            approval = ApprovalView.model_validate(event.data)
            approvals[approval.id] = approval
            step = steps.get(approval.step_id)
            steps[approval.step_id] = (
                step.model_copy(update={"status": "awaiting_approval"})
                if step
                else StepView(
                    id=approval.step_id,
                    server=approval.server,
                    tool=approval.tool,
                    arguments=approval.arguments,
                    status="awaiting_approval",
                )
            )
        elif event.type == "run_finished":
            finished = event
        elif event.type == "approval_decided":
            approval_id = str(event.data.get("approval_id"))
            if approval_id in approvals:
                approvals[approval_id] = approvals[approval_id].model_copy(
                    update={
                        "status": event.data.get("decision"),
                        "decided_by": event.data.get("decided_by"),
                        "decided_at": event.at,
                        "reason": event.data.get("reason"),
                    }
                )
    status, final_answer, error, finished_at = header.status, header.final_answer, header.error, header.finished_at
    if finished is not None:
        # The journal says how the run ended even if the header's write has not landed yet.
        status = finished.data.get("status", status)
        final_answer = finished.data.get("final_answer")
        error = finished.data.get("error")
        finished_at = finished_at or finished.at
    if status in ("running", "awaiting_approval"):
        # Whether a live run waits for a person is what its journal says, not the header: the two are read one
        # after the other, and a header newer or older than the events would show a wait with no approval in it.
        waiting = any(approval.status == "pending" for approval in approvals.values())
        status = "awaiting_approval" if waiting else "running"
    if status in TERMINAL_STATUSES:
        # A finished run has nothing in flight: what was still waiting or running did not complete.
        for approval_id, approval in approvals.items():
            if approval.status == "pending":
                approvals[approval_id] = approval.model_copy(update={"status": "cancelled"})
        for step_id, step in steps.items():
            if step.status in ("running", "awaiting_approval"):
                steps[step_id] = step.model_copy(update={"status": "cancelled"})
    duration = None
    if header.started_at is not None and finished_at is not None:
        duration = round((finished_at - header.started_at) * 1000, 3)
    return RunView(
        id=header.id,
        kind=header.kind,
        status=status,
        owner=header.owner,
        title=header.title,
        request=header.request,
        reasoner=header.reasoner,
        model=header.model,
        created_at=header.created_at,
        started_at=header.started_at,
        finished_at=finished_at,
        duration_ms=duration,
        final_answer=final_answer,
        error=error,
        usage=header.usage,
        steps=list(steps.values()),
        turns=turns,
        approvals=list(approvals.values()),
        last_event_id=events[-1].seq if events else 0,
    )
