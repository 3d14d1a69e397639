"""What a run's journal says already happened, so a replica resuming it repeats nothing.

A resumed run executes from the top again — the workflow engine or the reasoning loop — with a
``Replay`` built from the journal. Each step asks it first:

- a step (and attempt) with an outcome (``step_finished``) returns that outcome: its tool never runs
  again, and a workflow's references and ``when`` conditions see the same results as before;
- a step with an intent (``step_started``) but no outcome was in flight when its replica died. It
  may or may not have reached its tool. ``in_flight`` lists them; the run retries one only if its tool
  is read-only or idempotent, and otherwise stops in ``needs_attention`` (see ``execution.py``);
- an approval already requested for a step is waited on again, not asked a second time;
- a model turn already journaled is read back instead of asking the model again, so a reasoning run
  continues its conversation (see ``reasoning/loop.py``).

It also says whether the run may be resumed at all: a recorded cancel ends it instead
(``cancel_requested``), and so does a run taken over again and again without getting anywhere
(``resumes_without_progress``: takeovers since the last step outcome or model turn, see ``execution.py``).

Both the workflow engine and the reasoning loop are deterministic given the same results, so the
step ids they produce on replay are the ids in the journal. Results larger than the journal keeps
(``AGENTIC_STORED_RESULT_BYTES``) come back as the stored preview.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.agent_core.model import ModelTurn, ToolCall, ToolOutcome
from apps.agent_core.runs.approvals import AskedApproval
from apps.agent_core.runs.events import (
    ApprovalDecided,
    ApprovalRequested,
    CancelRequested,
    ModelTurnRecorded,
    Recorded,
    RunFinished,
    RunHandedOff,
    RunResumed,
    StepFinished,
    StepRecovered,
    StepStarted,
)

__all__ = ["InFlightStep", "Replay", "StepKey"]

StepKey = tuple[str, int]
"""(step id, attempt): one execution of one step."""


@dataclass(frozen=True)
class InFlightStep:
    step_id: str
    attempt: int
    server: str
    tool: str
    arguments: dict[str, Any]
    started_at: float


@dataclass
class Replay:
    outcomes: dict[StepKey, ToolOutcome] = field(default_factory=dict)
    in_flight: dict[StepKey, InFlightStep] = field(default_factory=dict)
    approvals: dict[str, AskedApproval] = field(default_factory=dict)
    """step id → the approval asked for it, with its decision once decided (the first one counts)."""
    turns: dict[int, ModelTurn] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    recovered: set[str] = field(default_factory=set)
    """Steps already journaled as recovered by their fallback."""
    finished: RunFinished | None = None
    """How the run ended, when it did but its header was never updated."""
    previous_owner: str | None = None
    """The replica that ran it last (the one that handed it off, or whose lease expired)."""
    cancel_requested: bool = False
    resumes_without_progress: int = 0
    """``run_resumed`` events since the last step outcome or model turn, not counting resumes after a clean
    hand-off (a replica shutting down lets its runs go at a step boundary: that is no sign of a poison run)."""

    @classmethod
    def from_events(cls, journal: list[Recorded]) -> Replay:
        replay = cls()
        approval_steps: dict[str, str] = {}
        handed_off = False
        for recorded in journal:
            event = recorded.event
            if isinstance(event, StepFinished | ModelTurnRecorded):
                replay.resumes_without_progress = 0
            elif isinstance(event, RunResumed) and not handed_off:
                replay.resumes_without_progress += 1
            if isinstance(event, RunHandedOff | RunResumed):
                handed_off = isinstance(event, RunHandedOff)
                replay.previous_owner = event.by
            if isinstance(event, CancelRequested):
                replay.cancel_requested = True
            elif isinstance(event, StepStarted):
                key = (event.step_id, event.attempt)
                replay.in_flight[key] = InFlightStep(
                    event.step_id, event.attempt, event.server, event.tool, event.arguments, recorded.at
                )
            elif isinstance(event, StepFinished):
                replay._finish_step(event)
            elif isinstance(event, ApprovalRequested):
                replay.approvals[event.step_id] = AskedApproval(event)
                approval_steps[event.id] = event.step_id
            elif isinstance(event, ApprovalDecided):
                step_id = approval_steps.get(event.approval_id)
                asked = replay.approvals.get(step_id) if step_id is not None else None
                if step_id is not None and asked is not None and asked.decision is None:
                    replay.approvals[step_id] = AskedApproval(asked.request, event.decision)
            elif isinstance(event, StepRecovered):
                replay.recovered.add(event.step_id)
            elif isinstance(event, ModelTurnRecorded):
                replay.turns.setdefault(event.index, event.turn())
            elif isinstance(event, RunFinished):
                replay.finished = event
        return replay

    def _finish_step(self, event: StepFinished) -> None:
        key = (event.step_id, event.attempt)
        self.in_flight.pop(key, None)
        if event.status == "skipped":
            self.skipped.add(event.step_id)
            return
        self.outcomes[key] = ToolOutcome(
            call_id=event.step_id,
            ok=event.status == "succeeded",
            result=event.result,
            error=event.error,
            retryable=event.retryable,
            duration_ms=event.duration_ms or 0.0,
        )

    def outcome(self, step_id: str, attempt: int, call: ToolCall) -> ToolOutcome | None:
        recorded = self.outcomes.get((step_id, attempt))
        return None if recorded is None else recorded.model_copy(update={"call_id": call.id})
