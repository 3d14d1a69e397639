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
(``AGENTIC_MAX_RESULT_BYTES``) come back as the stored preview.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.agent_core.model import ModelTurn, RunEvent, ToolCall, ToolOutcome

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
    approvals: dict[str, dict[str, Any]] = field(default_factory=dict)
    """step id → the ``approval_requested`` data, with ``decision`` once decided."""
    turns: dict[int, ModelTurn] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    finished: dict[str, Any] | None = None
    """The ``run_finished`` data when the run ended but its header was never updated."""
    previous_owner: str | None = None
    """The replica that ran it last (the one that handed it off, or whose lease expired)."""
    cancel_requested: bool = False
    resumes_without_progress: int = 0
    """``run_resumed`` events since the last step outcome or model turn, not counting resumes after a clean
    hand-off (a replica shutting down lets its runs go at a step boundary: that is no sign of a poison run)."""

    @classmethod
    def from_events(cls, events: list[RunEvent]) -> Replay:
        replay = cls()
        approval_steps: dict[str, str] = {}
        handed_off = False
        for event in events:
            data = event.data
            if event.type in ("step_finished", "model_turn"):
                replay.resumes_without_progress = 0
            elif event.type == "run_resumed" and not handed_off:
                replay.resumes_without_progress += 1
            if event.type in ("run_handed_off", "run_resumed"):
                handed_off = event.type == "run_handed_off"
            if event.type == "cancel_requested":
                replay.cancel_requested = True
            if event.type == "step_started":
                key = (str(data.get("step_id")), int(data.get("attempt", 1)))
                replay.in_flight[key] = InFlightStep(
                    step_id=key[0],
                    attempt=key[1],
                    server=str(data.get("server", "")),
                    tool=str(data.get("tool", "")),
                    arguments=data.get("arguments") or {},
                    started_at=event.at,
                )
            elif event.type == "step_finished":
                key = (str(data.get("step_id")), int(data.get("attempt", 1)))
                replay.in_flight.pop(key, None)
                if data.get("status") == "skipped":
                    replay.skipped.add(key[0])
                    continue
                replay.outcomes[key] = ToolOutcome(
                    call_id=key[0],
                    ok=data.get("status") == "succeeded",
                    result=data.get("result"),
                    error=data.get("error"),
                    duration_ms=float(data.get("duration_ms") or 0.0),
                )
            elif event.type == "approval_requested":
                replay.approvals[str(data.get("step_id"))] = dict(data)
                approval_steps[str(data.get("id"))] = str(data.get("step_id"))
            elif event.type == "approval_decided":
                step_id = approval_steps.get(str(data.get("approval_id")))
                if step_id is not None and "decision" not in replay.approvals[step_id]:
                    replay.approvals[step_id]["decision"] = data.get("decision")  # the first decision counts
            elif event.type == "model_turn":
                turn = ModelTurn.model_validate(data)
                replay.turns.setdefault(turn.index, turn)
            elif event.type == "run_finished":
                replay.finished = dict(data)
            elif event.type in ("run_handed_off", "run_resumed"):
                replay.previous_owner = data.get("by")
        return replay

    def outcome(self, step_id: str, attempt: int, call: ToolCall) -> ToolOutcome | None:
        recorded = self.outcomes.get((step_id, attempt))
        return None if recorded is None else recorded.model_copy(update={"call_id": call.id})
