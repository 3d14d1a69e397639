"""Executing one run: a task through the reasoner, or a workflow through the engine, fresh or resumed.

A fresh run records ``run_started``; a resumed one (``replay`` given) records ``run_resumed`` and runs
from the top with the journal answering everything that already happened (``replay.py``). A step
that was in flight when the previous replica died is retried only if its tool is read-only or
idempotent; otherwise the run ends ``needs_attention`` before anything else runs, with a message that
says which call may or may not have been applied.

Two things are never resumed. A run with a recorded cancel ends ``cancelled`` at once: cancel wins
over resume, even when the replica that ran it never saw the cancel. A run taken over
``max_resumes`` times (``AGENTIC_MAX_RESUMES``) with no step outcome or model turn journaled in
between ends ``failed``, saying so: whatever stalled or killed its replicas (a poison input, a tool that
hangs the process) would otherwise move from replica to replica forever.

Every way out records ``run_finished``, except a run let go: handed off at shutdown (another replica
resumes it), whose lease was lost (another replica already has), or whose journal could not be
written (the store failed; its lease lapses and it is resumed from the journal once the store is back).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from datetime import UTC, datetime
from typing import Any

from apps.agent_core.metrics import AgentCoreMetrics
from apps.agent_core.model import ModelTurn, RunHeader, RunStatus, TokenUsage, ToolCall, ToolOutcome, ToolSpec
from apps.agent_core.reasoning.base import Budget, Reasoner, ReasonerError
from apps.agent_core.runs.events import ModelTurnRecorded, RunFinished, RunHandedOff, RunResumed, RunStarted
from apps.agent_core.runs.journal import RunJournal
from apps.agent_core.runs.lease import RunControl
from apps.agent_core.runs.outcome import TurnCalls, task_outcome
from apps.agent_core.runs.replay import InFlightStep, Replay
from apps.agent_core.runs.steps import StepExecutor
from apps.agent_core.store.base import LeaseLost, StoreError
from apps.agent_core.workflows.document import WorkflowDocument
from apps.agent_core.workflows.engine import run_workflow

log = logging.getLogger(__name__)

Ending = tuple[RunStatus, str | None, str | None]
"""(status, final answer, error)."""


class RunExecution:
    def __init__(
        self,
        header: RunHeader,
        *,
        journal: RunJournal,
        steps: StepExecutor,
        reasoner: Reasoner,
        budget: Budget,
        metrics: AgentCoreMetrics,
        workflow: WorkflowDocument | None = None,
        max_resumes: int = 3,
    ) -> None:
        self.header = header
        self.journal = journal
        self.steps = steps
        self.control: RunControl = steps.control
        self.replay: Replay | None = steps.replay
        self.reasoner = reasoner
        self.budget = budget
        self.metrics = metrics
        self.workflow = workflow
        self.max_resumes = max_resumes
        self._call_numbers = itertools.count(1)
        self._turns = itertools.count(1)
        self._task_calls: list[TurnCalls] = []
        """A task's calls, one group per model turn (resumed ones included: the journal answers them)."""

    async def execute(self) -> None:
        """Run to a final status, or until the run is let go; never raises."""
        try:
            async with self.control.heartbeat():
                await self._execute()
        except LeaseLost:
            log.warning("another replica took this run over; stopped here", extra={"run_id": self.header.id})
        except StoreError as exc:
            # The journal is the truth and cannot be written: stop here and let the lease lapse. The run is
            # then resumed from the journal (by any replica, this one included) once the store is back.
            log.error(
                "the run store failed; the run will be resumed from its journal: %s",
                exc,
                extra={"run_id": self.header.id},
            )
        except asyncio.CancelledError:
            # A let-go run cancelled while recording how it was let go: the next owner resumes it anyway.
            if self.control.reason is None:
                raise

    async def _execute(self) -> None:
        ending: Ending | None = None
        if self.replay is None:
            await self.journal.update(lambda _: {"status": "running", "started_at": time.time()})
            await self.journal.append(
                RunStarted(
                    kind=self.header.kind,
                    reasoner=self.reasoner.name,
                    model=self.reasoner.model,
                    trigger=self.header.trigger,
                )
            )
        elif self.replay.finished is not None:
            # The journal has the end; the header write was lost with the replica. Complete it.
            end = self.replay.finished
            await self._write_end(end.status, end.final_answer, end.error)
            return
        else:
            ending = await self._resume()
        self.metrics.active_workflows.inc()
        status, answer, error = ending or ("failed", None, None)
        try:
            if ending is None:
                status, answer, error = await self._run()
        except asyncio.CancelledError:
            if self.control.reason in ("handoff", "lease_lost"):
                await asyncio.shield(self._let_go())
                return
            status, error = "cancelled", "cancelled on request"
        except ReasonerError as exc:
            error = f"the model failed: {exc}"
        except (LeaseLost, StoreError):
            raise
        except Exception:  # the run must end in a recorded state whatever went wrong
            log.exception("run failed unexpectedly", extra={"run_id": self.header.id})
            error = "the run failed unexpectedly; see the agent core's log"
        finally:
            self.metrics.active_workflows.dec()
        # Shielded: a cancelled run still records how it ended.
        await asyncio.shield(self._finish(status, answer, error))

    async def _run(self) -> Ending:
        if self.workflow is not None:
            return await self._run_workflow(self.workflow)
        return await self._run_task(str(self.header.request.get("task", "")))

    async def _resume(self) -> Ending | None:
        """Record the takeover; an ending if the run cannot safely go on (or must not: cancelled, poison)."""
        assert self.replay is not None
        unsafe = [step for step in self.replay.in_flight.values() if not self._safe_to_retry(step)]
        if self.replay.cancel_requested or self.header.cancel_requested:
            # Its last replica may have stalled before it saw the cancel: the cancel still stands.
            note = f" {_unknown_outcome_message(unsafe)}" if unsafe else ""
            return "cancelled", None, "cancelled on request; the run was not resumed." + note
        if self.replay.resumes_without_progress >= self.max_resumes:
            log.warning("a run made no progress over its resumes; failed", extra={"run_id": self.header.id})
            return "failed", None, _no_progress_message(self.replay, self.max_resumes)
        retried = [f"{s.step_id} ({s.server}.{s.tool})" for s in self.replay.in_flight.values() if s not in unsafe]
        await self.journal.append(
            RunResumed(
                by=self.control.terms.owner,
                previous_owner=self.replay.previous_owner,
                retried_steps=retried,
                unsafe_steps=[step.step_id for step in unsafe],
            )
        )
        if unsafe:
            return "needs_attention", None, _unknown_outcome_message(unsafe)
        return None

    def _safe_to_retry(self, step: InFlightStep) -> bool:
        spec: ToolSpec | None = self.steps.catalog.get((step.server, step.tool))
        # Unknown annotations mean unknown effects: only a tool that says so is retried.
        return spec is not None and (spec.read_only or spec.idempotent)

    async def _let_go(self) -> None:
        """Hand the run to whichever replica resumes it next (shutdown), or write nothing (lease lost)."""
        if self.control.reason != "handoff":
            return
        try:
            await self.journal.append(RunHandedOff(by=self.control.terms.owner, reason="shutting down"))
            await self.journal.update(lambda _: {"lease_owner": None, "lease_expires_at": None})
        except LeaseLost:
            return
        log.info("handed a run off", extra={"run_id": self.header.id})

    async def _finish(self, status: RunStatus, answer: str | None, error: str | None) -> None:
        # Counted before anyone can see the run finished, so metrics never lag what the API shows.
        self.metrics.runs.labels(kind=self.header.kind, status=status).inc()
        # The journal first: once the header says finished, every event is already there to read.
        await self.journal.append(RunFinished(status=status, final_answer=answer, error=error))
        await self._write_end(status, answer, error)

    async def _write_end(self, status: RunStatus, answer: str | None, error: str | None) -> None:
        finished_at = time.time()
        await self.journal.update(
            lambda _: {
                "status": status,
                "final_answer": answer,
                "error": error,
                "finished_at": finished_at,
                "lease_owner": None,
                "lease_expires_at": None,
            }
        )

    async def _record_turn(self, turn: ModelTurn) -> None:
        if self.replay is not None and turn.index in self.replay.turns:
            return  # journaled (and its usage counted) before the run was resumed
        # A turn is a step boundary: a run handed off here resumes after this turn, not before it.
        await self.journal.append(ModelTurnRecorded.model_validate(turn.model_dump()))
        await self._add_usage(turn.usage, turn.model)

    async def _add_usage(self, usage: TokenUsage, model: str | None) -> None:
        if not (usage.input_tokens or usage.output_tokens):
            return
        label = model or self.reasoner.name
        self.metrics.llm_tokens.labels(model=label, direction="input").inc(usage.input_tokens)
        self.metrics.llm_tokens.labels(model=label, direction="output").inc(usage.output_tokens)
        await self.journal.update(lambda h: {"usage": h.usage.plus(usage)})

    async def _execute_calls(self, calls: list[ToolCall]) -> list[ToolOutcome]:
        # One model turn's calls run concurrently: they were asked for together. Each finishes (and is
        # journaled) even if another stops the run, so no outcome is lost; then the stop is raised.
        numbered = [(f"call-{next(self._call_numbers)}", call) for call in calls]
        runs = (self.steps.run(step_id, call) for step_id, call in numbered)
        results = await asyncio.gather(*runs, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        outcomes = [result for result in results if isinstance(result, ToolOutcome)]
        self._task_calls.append(
            [(step_id, call, outcome) for (step_id, call), outcome in zip(numbered, outcomes, strict=True)]
        )
        return outcomes

    async def _run_task(self, task: str) -> Ending:
        tools = list(self.steps.catalog.values())
        turns = self.replay.turns if self.replay is not None else None
        result = await self.reasoner.run(task, tools, self._execute_calls, self._record_turn, self.budget, replay=turns)
        ending = task_outcome(result, self._task_calls)
        return ending.status, ending.final_answer, ending.error

    async def _analyze(self, instruction: str, data: Any) -> str:
        index = next(self._turns)
        if self.replay is not None and (done := self.replay.turns.get(index)) is not None:
            return done.text
        await self.control.checkpoint()
        started = time.monotonic()
        text, usage = await self.reasoner.summarize(instruction, data)
        await self._record_turn(
            ModelTurn(
                index=index,
                model=self.reasoner.model,
                text=text,
                stop_reason="end_turn",
                usage=usage,
                duration_ms=round((time.monotonic() - started) * 1000, 3),
            )
        )
        return text

    async def _run_workflow(self, workflow: WorkflowDocument) -> Ending:
        result = await run_workflow(
            workflow,
            run_step=self.steps.run,
            skip_step=self.steps.skip,
            recovered_step=self.steps.recovered,
            analyze=self._analyze,
            inputs=self.header.request.get("inputs") or None,
        )
        return result.status, result.final_answer, result.error if result.status != "succeeded" else None


def _no_progress_message(replay: Replay, max_resumes: int) -> str:
    in_flight = ", ".join(f"{step.step_id} ({step.server}.{step.tool})" for step in replay.in_flight.values())
    return (
        f"The run was taken over {replay.resumes_without_progress} times (AGENTIC_MAX_RESUMES is {max_resumes}) "
        "because the replica running it stopped or stalled past its lease, and no step finished and no model "
        "turn was recorded in between; it was failed instead of being resumed again. "
        + (f"In flight when it last stopped: {in_flight}. " if in_flight else "")
        + "Whatever stalls the replicas (a step's references, a tool, the input) would do so again: check it, "
        "then start a new run."
    )


def _unknown_outcome_message(steps: list[InFlightStep]) -> str:
    calls = "; ".join(
        f"step {step.step_id} called {step.server}.{step.tool} with {step.arguments} at "
        f"{datetime.fromtimestamp(step.started_at, UTC).isoformat(timespec='seconds')}"
        for step in steps
    )
    return (
        "The replica running this run stopped while a tool that changes things was in flight, so whether it "
        f"was applied is unknown: {calls}. It was not retried, because it is neither read-only nor idempotent. "
        "Check the target's current state, then start a new run if the change is still needed."
    )
