"""Running one tool step of a run: approval if needed, the journal before and after, the call itself.

The intent (``step_started``, with the idempotency key the call carries) is journaled before the call
and the outcome (``step_finished``) after it; a resumed run's ``Replay`` answers every step that has
an outcome without calling anything (see ``replay.py``). In between, the tool's progress reports are
journaled as ``step_progress``, at most one a second (``progress.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from apps.agent_core.gateway.base import ToolGateway
from apps.agent_core.gateway.content import human_size, shed_blobs, tool_content
from apps.agent_core.metrics import AgentCoreMetrics
from apps.agent_core.model import ToolCall, ToolOutcome, ToolSpec
from apps.agent_core.runs.approvals import ApprovalGate, ApprovalPolicy
from apps.agent_core.runs.events import StepFinished, StepOutcomeStatus, StepRecovered, StepStarted
from apps.agent_core.runs.journal import RunJournal
from apps.agent_core.runs.lease import RunCancelled, RunControl
from apps.agent_core.runs.progress import ProgressJournal
from apps.agent_core.runs.replay import Replay

__all__ = ["RunCancelled", "StepExecutor", "idempotency_key", "stored_result"]


def idempotency_key(run_id: str, step_id: str, attempt: int) -> str:
    """The same for every execution of one attempt of one step, on any replica: a resent call repeats it."""
    return f"{run_id}/{step_id}/{attempt}"


def stored_result(result: Any, max_bytes: int) -> Any:
    """The result as journaled: whole when small (the model, if any, still saw it whole).

    Content blocks over the limit lose their largest blobs' data, each block saying so, and keep the
    rest; anything else over it, or still over it then, becomes a preview.
    """
    text = json.dumps(result, default=str, ensure_ascii=False)
    size = len(text.encode())
    if size <= max_bytes:
        return result
    if (content := tool_content(result)) is not None:
        why = f"over the {human_size(max_bytes)} kept of a step's result (AGENTIC_STORED_RESULT_BYTES)"
        shed = shed_blobs(content, size - max_bytes, why).dump()
        if len(json.dumps(shed, ensure_ascii=False).encode()) <= max_bytes:
            return shed
    return {"truncated": True, "size_bytes": size, "preview": text[: max_bytes // 2]}


@dataclass
class StepExecutor:
    """Everything a run needs to execute steps; one per run."""

    journal: RunJournal
    gateway: ToolGateway
    catalog: dict[tuple[str, str], ToolSpec]
    policy: ApprovalPolicy
    metrics: AgentCoreMetrics
    stored_result_bytes: int
    control: RunControl
    replay: Replay | None = None

    async def run(self, step_id: str, call: ToolCall, attempt: int = 1, timeout: float | None = None) -> ToolOutcome:
        if self.replay is not None and (recorded := self.replay.outcome(step_id, attempt, call)) is not None:
            return recorded
        await self.control.checkpoint()
        spec = self.catalog.get((call.server, call.tool))
        if spec is None:
            return await self._refuse(step_id, call, attempt, f"unknown tool {call.server}.{call.tool}")
        if not spec.available:  # refused before anyone is asked to approve a call that cannot run
            return await self._refuse(step_id, call, attempt, spec.unavailable_message())
        # A retried in-flight step was approved (if it had to be) before its intent was journaled.
        retry = self.replay is not None and (step_id, attempt) in self.replay.in_flight
        if not retry and self.policy.needs_approval(call.server, call.tool, spec):
            gate = ApprovalGate(self.journal, self.control, self.policy.ttl_seconds, self.replay)
            with self.metrics.awaiting_approval():  # RunsStuckAwaitingApproval (infra/alerts/platform-rules.yaml)
                decision = await gate.decide(step_id, call)
            if decision != "approved":
                reason = "expired before anyone approved it" if decision == "expired" else "was rejected"
                return await self._refuse(
                    step_id, call, attempt, f"{call.server}.{call.tool} {reason}; it did not run.", status="rejected"
                )
        key = idempotency_key(self.journal.run_id, step_id, attempt)
        await self.journal.append(
            StepStarted(
                step_id=step_id,
                call_id=call.id,
                server=call.server,
                tool=call.tool,
                arguments=call.arguments,
                attempt=attempt,
                idempotency_key=key,
                retry="outcome of the interrupted call unknown" if retry else None,
            )
        )
        # The timeout is an idle one: the tool's progress reports move it on (gateway/progress.py).
        progress = ProgressJournal(self.journal, step_id, attempt)
        outcome = await progress.around(
            self.gateway.call(call, timeout=timeout, idempotency_key=key, on_progress=progress.report)
        )
        self.metrics.tool_calls.labels(
            server=call.server, tool=call.tool, outcome="ok" if outcome.ok else "error"
        ).inc()
        await self.journal.append(
            StepFinished(
                step_id=step_id,
                status="succeeded" if outcome.ok else "failed",
                attempt=attempt,
                result=stored_result(outcome.result, self.stored_result_bytes) if outcome.ok else None,
                error=outcome.error,
                retryable=None if outcome.ok else outcome.retryable,
                duration_ms=round(outcome.duration_ms, 3),
            )
        )
        return outcome

    async def skip(self, step_id: str, reason: str) -> None:
        if self.replay is not None and step_id in self.replay.skipped:
            return
        await self.journal.append(StepFinished(step_id=step_id, status="skipped", error=reason))

    async def recovered(self, step_id: str, fallback_step_id: str) -> None:
        if self.replay is not None and step_id in self.replay.recovered:
            return
        await self.journal.append(StepRecovered(step_id=step_id, fallback_step_id=fallback_step_id))

    async def _refuse(
        self, step_id: str, call: ToolCall, attempt: int, message: str, status: StepOutcomeStatus = "failed"
    ) -> ToolOutcome:
        # A refusal (unknown or unavailable tool, a rejected approval) would be refused again: not retryable.
        await self.journal.append(
            StepFinished(
                step_id=step_id,
                status=status,
                attempt=attempt,
                error=message,
                retryable=False,
                server=call.server,
                tool=call.tool,
            )
        )
        return ToolOutcome(call_id=call.id, ok=False, error=message, retryable=False)
