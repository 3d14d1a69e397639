"""Executing one run from start to finish: a task through the reasoner, or a workflow through the engine."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Any

from apps.agent_core.metrics import AgentCoreMetrics
from apps.agent_core.model import RunHeader, TokenUsage, ToolCall, ToolOutcome
from apps.agent_core.reasoning.base import Budget, ModelTurn, Reasoner, ReasonerError
from apps.agent_core.runs.journal import RunJournal
from apps.agent_core.runs.steps import RunCancelled, StepRunner
from apps.agent_core.workflows.document import WorkflowDocument
from apps.agent_core.workflows.engine import run_workflow

log = logging.getLogger(__name__)


class RunExecution:
    def __init__(
        self,
        header: RunHeader,
        *,
        journal: RunJournal,
        steps: StepRunner,
        reasoner: Reasoner,
        budget: Budget,
        metrics: AgentCoreMetrics,
        workflow: WorkflowDocument | None = None,
    ) -> None:
        self.header = header
        self.journal = journal
        self.steps = steps
        self.reasoner = reasoner
        self.budget = budget
        self.metrics = metrics
        self.workflow = workflow
        self._call_numbers = itertools.count(1)
        self._turns = itertools.count(1)

    async def execute(self) -> None:
        """Run to a final status; every way out records ``run_finished``."""
        started = time.time()
        await self.journal.update(lambda _: {"status": "running", "started_at": started})
        await self.journal.append(
            "run_started", {"kind": self.header.kind, "reasoner": self.reasoner.name, "model": self.reasoner.model}
        )
        self.metrics.active_workflows.inc()
        status, answer, error = "failed", None, None
        try:
            if self.workflow is not None:
                status, answer, error = await self._run_workflow(self.workflow)
            else:
                status, answer, error = await self._run_task(str(self.header.request.get("task", "")))
        except (RunCancelled, asyncio.CancelledError):
            status, error = "cancelled", "cancelled on request"
        except ReasonerError as exc:
            error = f"the model failed: {exc}"
        except Exception:  # the run must end in a recorded state whatever went wrong
            log.exception("run failed unexpectedly", extra={"run_id": self.header.id})
            error = "the run failed unexpectedly; see the agent core's log"
        finally:
            self.metrics.active_workflows.dec()
            # Shielded: a cancelled run still records how it ended.
            await asyncio.shield(self._finish(status, answer, error))

    async def _finish(self, status: str, answer: str | None, error: str | None) -> None:
        # Counted before anyone can see the run finished, so metrics never lag what the API shows.
        self.metrics.runs.labels(kind=self.header.kind, status=status).inc()
        # The journal first: once the header says finished, every event is already there to read.
        finished = await self.journal.append("run_finished", {"status": status, "final_answer": answer, "error": error})
        await self.journal.update(
            lambda _: {"status": status, "final_answer": answer, "error": error, "finished_at": finished.at}
        )

    async def _record_turn(self, turn: ModelTurn) -> None:
        await self.journal.append("model_turn", turn.model_dump(mode="json"))
        await self._add_usage(turn.usage, turn.model)

    async def _add_usage(self, usage: TokenUsage, model: str | None) -> None:
        if not (usage.input_tokens or usage.output_tokens):
            return
        label = model or self.reasoner.name
        self.metrics.llm_tokens.labels(model=label, direction="input").inc(usage.input_tokens)
        self.metrics.llm_tokens.labels(model=label, direction="output").inc(usage.output_tokens)
        await self.journal.update(lambda h: {"usage": h.usage.plus(usage)})

    async def _execute_calls(self, calls: list[ToolCall]) -> list[ToolOutcome]:
        # One model turn's calls run concurrently: they were asked for together.
        return list(await asyncio.gather(*(self.steps.run(f"call-{next(self._call_numbers)}", call) for call in calls)))

    async def _run_task(self, task: str) -> tuple[str, str | None, str | None]:
        tools = list(self.steps.catalog.values())
        result = await self.reasoner.run(task, tools, self._execute_calls, self._record_turn, self.budget)
        return "succeeded", result.final_answer, None

    async def _analyze(self, instruction: str, data: Any) -> str:
        started = time.monotonic()
        text, usage = await self.reasoner.summarize(instruction, data)
        await self._record_turn(
            ModelTurn(
                index=next(self._turns),
                model=self.reasoner.model,
                text=text,
                stop_reason="end_turn",
                usage=usage,
                duration_ms=round((time.monotonic() - started) * 1000, 3),
            )
        )
        return text

    async def _run_workflow(self, workflow: WorkflowDocument) -> tuple[str, str | None, str | None]:
        result = await run_workflow(
            workflow,
            run_step=self.steps.run,
            skip_step=self.steps.skip,
            analyze=self._analyze,
            inputs=self.header.request.get("inputs") or None,
        )
        return result.status, result.final_answer, result.error if result.status != "succeeded" else None
