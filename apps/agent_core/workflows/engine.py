"""Running a validated workflow: steps in order, parallel groups concurrently, results kept whatever happens.

Per step: a false ``when`` skips it (``skip_step`` records why; its result is ``null``, status
``skipped``). Otherwise its arguments are resolved against the results so far, and ``run_step`` is
called with attempt 1, 2, … until it succeeds or ``retry.attempts`` are spent, waiting
``backoff_seconds`` doubled after each failure. A failure its server calls not retryable (``retryable``
false: no credentials, access denied, bad arguments) ends the attempts at once, and the step's error says
so; a server that says nothing (``None``) is retried as any other failure. When it still fails, ``on_error``
decides:

- ``fail`` (default): the workflow stops; it is ``failed``, and every result so far is returned.
- ``continue``: the failure is recorded and the next step runs.
- ``{"fallback": step}``: the fallback runs; if it succeeds, its result stands in for the failed
  step's (status ``recovered``), so later references to the failed step read it. If it fails, its own
  ``on_error`` (``fail`` or ``continue``) decides.

Members of a parallel group that has a failing ``fail`` member still finish (their effects would
otherwise be unknown); the workflow stops after the group. ``analyze`` runs only when no step stopped
the workflow; when it fails, the results are kept and the workflow is ``failed``. Cancelling the task
that runs the workflow cancels the steps in flight and propagates at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import anyio
from pydantic import BaseModel

from apps.agent_core.clipping import clip_middle
from apps.agent_core.model import ToolCall, ToolOutcome
from apps.agent_core.workflows.base import Analyzer, RunStep, StepRecorder, StepSkipper
from apps.agent_core.workflows.bounds import EvaluationLimits
from apps.agent_core.workflows.document import ParallelGroup, Step, WorkflowDocument, placed_steps
from apps.agent_core.workflows.references import ExpressionError, resolve_bounded, when_holds_bounded
from apps.agent_core.workflows.validation import input_problems

__all__ = ["MAX_RETRY_WAIT_SECONDS", "StepState", "WorkflowResult", "WorkflowStepStatus", "run_workflow"]

MAX_RETRY_WAIT_SECONDS = 60.0
_MAX_ERROR_IN_SUMMARY = 300

WorkflowStepStatus = Literal["succeeded", "failed", "skipped", "recovered"]
Sleep = Callable[[float], Awaitable[None]]


class StepState(BaseModel):
    id: str
    status: WorkflowStepStatus
    result: Any = None
    """For a ``recovered`` step, its fallback's result."""
    error: str | None = None
    attempts: int = 0
    """Calls made; 0 when it was skipped or its arguments could not be resolved."""
    fallback: str | None = None
    """The id of the fallback whose result stands in, when one did."""


class WorkflowResult(BaseModel):
    name: str
    status: Literal["succeeded", "failed"]
    steps: dict[str, StepState]
    """Every step that ran or was skipped, in document order (a fallback after its step)."""
    failed_steps: list[str]
    not_run: list[str]
    """Steps never reached because the workflow stopped first."""
    final_answer: str
    """The analysis when there is one, else a short summary."""
    error: str | None = None
    """Why the workflow failed: the step that stopped it, or the analysis that failed."""

    @property
    def results(self) -> dict[str, Any]:
        return {id_: state.result for id_, state in self.steps.items() if state.status in ("succeeded", "recovered")}

    @property
    def errors(self) -> dict[str, str]:
        return {id_: state.error for id_, state in self.steps.items() if state.error is not None}


async def run_workflow(
    doc: WorkflowDocument,
    *,
    run_step: RunStep,
    skip_step: StepSkipper,
    analyze: Analyzer | None,
    inputs: Mapping[str, Any] | None = None,
    sleep: Sleep = anyio.sleep,
    limits: EvaluationLimits | None = None,
    recovered_step: StepRecorder | None = None,
) -> WorkflowResult:
    """Run ``doc`` (already validated) to the end or to the first failure that stops it.

    Raises ``ValueError`` before running anything when ``inputs`` names an input the workflow lacks.
    ``sleep`` is the wait between retries; tests pass one that does not wait. ``limits`` bound the work
    and output of each step's references, which are evaluated off the event loop. ``recovered_step`` is told
    when a fallback's result stands in for a failed step, as it happens.
    """
    problems = input_problems(doc, inputs or {})
    if problems:
        raise ValueError("; ".join(problems))
    run = _Run(doc, run_step, skip_step, sleep, {**doc.inputs, **(inputs or {})}, limits or EvaluationLimits())
    run.recovered_step = recovered_step
    for item in doc.steps:
        if isinstance(item, ParallelGroup):
            async with anyio.create_task_group() as group:
                for step in item.parallel:
                    group.start_soon(run.run, step)
        else:
            await run.run(item)
        if run.stop_reason is not None:
            break
    analysis, analysis_error = await _analyze(doc, run, analyze)
    return run.outcome(analysis, analysis_error)


async def _analyze(doc: WorkflowDocument, run: _Run, analyze: Analyzer | None) -> tuple[str | None, str | None]:
    if doc.analyze is None or analyze is None or run.stop_reason is not None:
        return None, None
    data = {"workflow": doc.name, "description": doc.description, **run.context}
    try:
        instruction = await resolve_bounded(doc.analyze.instruction, run.context, run.limits, "analyze.instruction")
        return await analyze(str(instruction), data), None
    except Exception as exc:  # the model being down must not cost the results; cancellation is not an Exception
        return None, f"the analysis failed: {_describe(exc)}"


class _Run:
    """One run's context and states; parallel members share it, each writing only its own entries."""

    def __init__(
        self,
        doc: WorkflowDocument,
        run_step: RunStep,
        skip_step: StepSkipper,
        sleep: Sleep,
        inputs: dict[str, Any],
        limits: EvaluationLimits,
    ) -> None:
        self.doc = doc
        self.limits = limits
        self.run_step = run_step
        self.skip_step = skip_step
        self.sleep = sleep
        self.context: dict[str, Any] = {"steps": {}, "inputs": inputs}
        self.states: dict[str, StepState] = {}
        self.stop_reason: str | None = None
        self.recovered_step: StepRecorder | None = None

    async def run(self, step: Step) -> None:
        """The step with its on_error policy applied."""
        state = await self._execute(step)
        if state.status != "failed":
            return
        fallback = step.fallback
        if fallback is None:
            if step.on_error != "continue":
                self._stop(f'step "{step.id}" failed: {state.error}')
            return
        rescue = await self._execute(fallback)
        if rescue.status == "succeeded":
            self._record(
                StepState(
                    id=step.id,
                    status="recovered",
                    result=rescue.result,
                    error=state.error,
                    attempts=state.attempts,
                    fallback=fallback.id,
                )
            )
            if self.recovered_step is not None:
                await self.recovered_step(step.id, fallback.id)
        elif fallback.on_error != "continue":
            self._stop(f'step "{step.id}" failed and so did its fallback "{fallback.id}": {rescue.error}')

    async def _execute(self, step: Step) -> StepState:
        """The step itself: condition, arguments, attempts."""
        try:
            if step.when is not None and not await when_holds_bounded(step.when, self.context, self.limits):
                await self.skip_step(step.id, f"when was false: {step.when}")
                return self._record(StepState(id=step.id, status="skipped"))
            arguments = await resolve_bounded(step.arguments, self.context, self.limits, "arguments")
        except ExpressionError as exc:
            # Retrying cannot change what earlier steps returned, so this goes straight to on_error.
            return self._record(StepState(id=step.id, status="failed", error=f"could not resolve the step: {exc}"))
        call = ToolCall(id=step.id, server=step.tool.server, tool=step.tool.name, arguments=arguments)
        attempts = max(1, step.retry.attempts) if step.retry is not None else 1
        backoff = step.retry.backoff_seconds if step.retry is not None else 0.0
        for attempt in range(1, attempts + 1):
            outcome = await self._call(step.id, call, attempt, step.timeout_seconds)
            if outcome.ok:
                return self._record(StepState(id=step.id, status="succeeded", result=outcome.result, attempts=attempt))
            error = outcome.error or "the tool failed without saying why"
            if attempt == attempts:
                break
            if outcome.retryable is False:
                error += f" (not retried: retrying would not help; attempt {attempt} of {attempts})"
                break
            await self.sleep(min(backoff * 2 ** (attempt - 1), MAX_RETRY_WAIT_SECONDS))
        return self._record(StepState(id=step.id, status="failed", error=error, attempts=attempt))

    async def _call(self, step_id: str, call: ToolCall, attempt: int, timeout: float | None) -> ToolOutcome:
        try:
            return await self.run_step(step_id, call, attempt, timeout)
        except Exception as exc:  # a runner that raises fails the step, not the whole run; cancellation passes
            return ToolOutcome(call_id=call.id, ok=False, error=_describe(exc))

    def _record(self, state: StepState) -> StepState:
        self.states[state.id] = state
        self.context["steps"][state.id] = {"result": state.result, "status": state.status, "error": state.error}
        return state

    def _stop(self, reason: str) -> None:
        if self.stop_reason is None:  # in a parallel group, the first failure is the one to report
            self.stop_reason = reason

    def outcome(self, analysis: str | None, analysis_error: str | None) -> WorkflowResult:
        order = [placed.step.id for placed in placed_steps(self.doc)]
        steps = {id_: self.states[id_] for id_ in order if id_ in self.states}
        failed = [id_ for id_, state in steps.items() if state.status == "failed"]
        top_level = [placed.step.id for placed in placed_steps(self.doc) if placed.parent is None]
        not_run = [id_ for id_ in top_level if id_ not in steps]
        error = self.stop_reason or analysis_error
        status: Literal["succeeded", "failed"] = "failed" if error is not None else "succeeded"
        answer = analysis if analysis is not None else _summary(self.doc.name, status, steps, not_run, error)
        return WorkflowResult(
            name=self.doc.name,
            status=status,
            steps=steps,
            failed_steps=failed,
            not_run=not_run,
            final_answer=answer,
            error=error,
        )


def _summary(name: str, status: str, steps: Mapping[str, StepState], not_run: list[str], error: str | None) -> str:
    counts: dict[str, int] = {}
    for state in steps.values():
        counts[state.status] = counts.get(state.status, 0) + 1
    labels = {
        "succeeded": "succeeded",
        "recovered": "recovered by a fallback",
        "failed": "failed",
        "skipped": "skipped",
    }
    parts = [f"{counts[key]} {label}" for key, label in labels.items() if counts.get(key)]
    text = f'Workflow "{name}" {status}: ' + (", ".join(parts) or "no steps ran") + "."
    if error is not None:
        shown = clip_middle(error, _MAX_ERROR_IN_SUMMARY)
        text += f" {shown}" if shown.endswith((".", "!", "?")) else f" {shown}."
    if not_run:
        text += f" Not run: {', '.join(not_run)}."
    return text


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
