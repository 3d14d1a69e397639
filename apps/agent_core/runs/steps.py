"""Running one tool step of a run: approval if needed, the journal before and after, the call itself."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from apps.agent_core.gateway.base import ToolGateway
from apps.agent_core.metrics import AgentCoreMetrics
from apps.agent_core.model import ToolCall, ToolOutcome
from apps.agent_core.reasoning.base import ToolSpec
from apps.agent_core.runs.approvals import ApprovalPolicy, arguments_hash
from apps.agent_core.runs.journal import RunJournal

APPROVAL_POLL_SECONDS = 0.5
"""How often a waiting step re-reads the store: decisions made on another replica arrive this way."""


class RunCancelled(asyncio.CancelledError):
    """Cancellation was requested (possibly on another replica); the run stops at the next step boundary.

    A ``CancelledError`` so that it travels like a task's cancellation: no ``except Exception`` on the way
    (the workflow engine's step handling, a reasoner's loop) mistakes it for a failed step.
    """


def stored_result(result: Any, max_bytes: int) -> Any:
    """The result as journaled: whole when small, else a preview (the model still saw it whole)."""
    text = json.dumps(result, default=str, ensure_ascii=False)
    if len(text.encode()) <= max_bytes:
        return result
    return {"truncated": True, "size_bytes": len(text.encode()), "preview": text[: max_bytes // 2]}


@dataclass
class StepRunner:
    """Everything a run needs to execute steps; one per run."""

    journal: RunJournal
    gateway: ToolGateway
    catalog: dict[tuple[str, str], ToolSpec]
    policy: ApprovalPolicy
    metrics: AgentCoreMetrics
    max_result_bytes: int
    default_timeout: float

    async def run(self, step_id: str, call: ToolCall, attempt: int = 1, timeout: float | None = None) -> ToolOutcome:
        await self._raise_if_cancelled()
        spec = self.catalog.get((call.server, call.tool))
        if spec is None:
            return await self._refuse(step_id, call, attempt, f"unknown tool {call.server}.{call.tool}")
        if self.policy.needs_approval(call.server, call.tool, spec):
            decision = await self._await_approval(step_id, call)
            if decision != "approved":
                reason = "expired before anyone approved it" if decision == "expired" else "was rejected"
                return await self._refuse(
                    step_id, call, attempt, f"{call.server}.{call.tool} {reason}; it did not run.", status="rejected"
                )
        await self.journal.append(
            "step_started",
            {
                "step_id": step_id,
                "call_id": call.id,
                "server": call.server,
                "tool": call.tool,
                "arguments": call.arguments,
                "attempt": attempt,
            },
        )
        outcome = await self.gateway.call(call, timeout=timeout or self.default_timeout)
        self.metrics.tool_calls.labels(
            server=call.server, tool=call.tool, outcome="ok" if outcome.ok else "error"
        ).inc()
        await self.journal.append(
            "step_finished",
            {
                "step_id": step_id,
                "status": "succeeded" if outcome.ok else "failed",
                "attempt": attempt,
                "result": stored_result(outcome.result, self.max_result_bytes) if outcome.ok else None,
                "error": outcome.error,
                "duration_ms": round(outcome.duration_ms, 3),
            },
        )
        return outcome

    async def skip(self, step_id: str, reason: str) -> None:
        await self.journal.append("step_finished", {"step_id": step_id, "status": "skipped", "error": reason})

    async def _refuse(
        self, step_id: str, call: ToolCall, attempt: int, message: str, status: str = "failed"
    ) -> ToolOutcome:
        await self.journal.append(
            "step_finished",
            {
                "step_id": step_id,
                "status": status,
                "attempt": attempt,
                "error": message,
                "server": call.server,
                "tool": call.tool,
            },
        )
        return ToolOutcome(call_id=call.id, ok=False, error=message)

    async def _raise_if_cancelled(self) -> None:
        header = await self.journal.store.get(self.journal.run_id)
        if header is not None and header.cancel_requested:
            raise RunCancelled

    async def _await_approval(self, step_id: str, call: ToolCall) -> str:
        """Pause the run until someone decides; returns ``approved``, ``rejected`` or ``expired``."""
        approval_id = uuid.uuid4().hex[:12]
        now = time.time()
        requested = await self.journal.append(
            "approval_requested",
            {
                "id": approval_id,
                "step_id": step_id,
                "server": call.server,
                "tool": call.tool,
                "arguments": call.arguments,
                "arguments_hash": arguments_hash(call.server, call.tool, call.arguments),
                "requested_at": now,
                "expires_at": now + self.policy.ttl_seconds,
            },
        )
        await self.journal.update(lambda h: {"status": "awaiting_approval"} if h.status == "running" else {})
        seen = requested.seq
        deadline = now + self.policy.ttl_seconds
        try:
            while True:
                for event in await self.journal.store.events(self.journal.run_id, after=seen):
                    seen = event.seq
                    if event.type == "approval_decided" and event.data.get("approval_id") == approval_id:
                        return str(event.data.get("decision"))
                    if event.type == "cancel_requested":
                        raise RunCancelled
                if time.time() >= deadline:
                    await self.journal.append(
                        "approval_decided", {"approval_id": approval_id, "decision": "expired", "decided_by": None}
                    )
                    return "expired"
                await self.journal.notifier.wait(
                    self.journal.run_id, min(APPROVAL_POLL_SECONDS, max(0.01, deadline - time.time()))
                )
        finally:
            await self.journal.update(lambda h: {"status": "running"} if h.status == "awaiting_approval" else {})
