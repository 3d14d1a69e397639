"""When a tool call needs a person's approval, what an approval is bound to, and how it is decided once.

Whether a call needs approval is ``ApprovalPolicy``'s rule: the tool's annotations, its server's
``approval`` mode in the servers file, and the tools named in ``AGENTIC_REQUIRE_APPROVAL`` and
``AGENTIC_AUTO_APPROVE``. An approval is bound to a hash of the exact server, tool and
arguments, so approving one call can never approve a different one; it is single-use and expires.
A run waits for the decision in ``ApprovalGate``; a person's decision is recorded by ``record_decision``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from apps.agent_core.gateway.servers_file import ApprovalMode
from apps.agent_core.model import ToolCall, ToolSpec
from apps.agent_core.projection import ApprovalView, RunView
from apps.agent_core.runs.errors import ConflictError, GoneError
from apps.agent_core.runs.events import (
    ApprovalDecided,
    ApprovalDecisionRefused,
    ApprovalRequested,
    CancelRequested,
    Decision,
    decision_key,
)
from apps.agent_core.runs.journal import RunJournal
from apps.agent_core.runs.lease import RunCancelled, RunControl
from apps.agent_core.store.base import AlreadyRecorded

if TYPE_CHECKING:
    from apps.agent_core.runs.replay import Replay

APPROVAL_POLL_SECONDS = 0.5
"""How often a waiting step re-reads the store: decisions made on another replica arrive this way."""


class DecisionChoice(BaseModel):
    """What a person sends to decide an approval (the API's body is this, refusing unknown fields)."""

    decision: Literal["approve", "reject"]
    approval_id: str | None = Field(default=None, max_length=64)
    arguments: dict[str, Any] | None = Field(default=None, description="The exact arguments being approved")
    arguments_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    reason: str | None = Field(default=None, max_length=1000)


def arguments_hash(server: str, tool: str, arguments: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"server": server, "tool": tool, "arguments": arguments}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ApprovalPolicy:
    """Which calls wait for a person. The most specific setting decides:

    1. a tool named in ``AGENTIC_AUTO_APPROVE`` (``auto_approve``) never asks; one named in
       ``AGENTIC_REQUIRE_APPROVAL`` (``require``) always does (named in both, auto-approve wins);
    2. else its server's ``approval`` mode from the servers file (``servers``): ``always`` asks for every
       call of the server, ``never`` for none;
    3. else (``annotations``, the default and the only mode of ``AGENTIC_MCP_SERVERS``' servers) a call
       asks when its tool is annotated destructive, or is unknown to the catalog and so cannot say otherwise.
    """

    require: frozenset[str]
    auto_approve: frozenset[str]
    ttl_seconds: int
    servers: Mapping[str, ApprovalMode] = field(default_factory=dict)

    def needs_approval(self, server: str, tool: str, spec: ToolSpec | None) -> bool:
        qualified = f"{server}.{tool}"
        if qualified in self.auto_approve:
            return False
        if qualified in self.require:
            return True
        mode = self.servers.get(server, "annotations")
        if mode != "annotations":
            return mode == "always"
        return spec is None or (spec.destructive and not spec.read_only)


@dataclass(frozen=True)
class AskedApproval:
    """An approval a resumed run finds in its journal: asked once, never asked again."""

    request: ApprovalRequested
    decision: Decision | None = None


@dataclass
class ApprovalGate:
    """Asks for a person's decision on one call of a run and waits for it, on whichever replica runs the run.

    The decision is whatever ``approval_decided`` event the journal holds for the approval; the store writes
    at most one per approval (``decision_key``), so the step, the view and the audit trail read the same one.
    """

    journal: RunJournal
    control: RunControl
    ttl_seconds: int
    replay: Replay | None = None

    async def decide(self, step_id: str, call: ToolCall) -> Decision:
        """Pause the run until someone decides; returns ``approved``, ``rejected`` or ``expired``."""
        digest = arguments_hash(call.server, call.tool, call.arguments)
        asked = self.replay.approvals.get(step_id) if self.replay is not None else None
        if asked is not None and asked.request.arguments_hash == digest:
            # Resumed: the approval asked before is still the one that counts; never ask twice.
            if asked.decision is not None:
                return asked.decision
            approval_id, deadline, seen = asked.request.id, asked.request.expires_at, 0
        else:
            now = time.time()
            request = ApprovalRequested(
                id=uuid.uuid4().hex[:12],
                step_id=step_id,
                server=call.server,
                tool=call.tool,
                arguments=call.arguments,
                arguments_hash=digest,
                requested_at=now,
                expires_at=now + self.ttl_seconds,
            )
            approval_id, deadline, seen = request.id, request.expires_at, (await self.journal.append(request)).seq
        await self.journal.update(lambda h: {"status": "awaiting_approval"} if h.status == "running" else {})
        try:
            return await self._wait(approval_id, deadline, seen)
        finally:
            if self.control.reason in (None, "cancel"):  # a run let go keeps waiting wherever it resumes
                await self.journal.update(lambda h: {"status": "running"} if h.status == "awaiting_approval" else {})

    async def _wait(self, approval_id: str, deadline: float, seen: int) -> Decision:
        while True:
            for recorded in await self.journal.history(after=seen):
                seen, event = recorded.seq, recorded.event
                if isinstance(event, ApprovalDecided) and event.approval_id == approval_id:
                    return event.decision
                if isinstance(event, CancelRequested):
                    self.control.interrupt("cancel")
            if self.control.reason is not None:
                raise RunCancelled
            if time.time() >= deadline:
                expired = ApprovalDecided(approval_id=approval_id, decision="expired")
                with contextlib.suppress(AlreadyRecorded):  # a person decided first: the next read returns it
                    await self.journal.append(expired, once=decision_key(approval_id))
                    return "expired"
                continue
            await self.journal.notifier.wait(
                self.journal.run_id, min(APPROVAL_POLL_SECONDS, max(0.01, deadline - time.time()))
            )


async def record_decision(journal: RunJournal, view: RunView, who: str, choice: DecisionChoice) -> None:
    """Record a person's decision on the run's pending approval, or raise why it cannot be made.

    The first decision wins in the store; a later one (another person at the same moment, or the
    approval's expiry) is refused with ``ConflictError`` naming the winner, and journaled only as a
    refused attempt, so the audit trail shows it and nothing acts on it.
    """
    approval = _pending(view, choice.approval_id)
    if time.time() >= approval.expires_at:
        raise GoneError(f"approval {approval.id} expired; the step will not run")
    if choice.decision == "approve":
        supplied = choice.arguments_hash or (
            arguments_hash(approval.server, approval.tool, choice.arguments) if choice.arguments is not None else None
        )
        if supplied is None:
            raise ConflictError("to approve, send the exact arguments (or arguments_hash) you are approving")
        if supplied != approval.arguments_hash:
            raise ConflictError("these are not the arguments awaiting approval; nothing was approved")
    decision: Decision = "approved" if choice.decision == "approve" else "rejected"
    try:
        await journal.append(
            ApprovalDecided(approval_id=approval.id, decision=decision, decided_by=who, reason=choice.reason),
            once=decision_key(approval.id),
        )
    except AlreadyRecorded as exc:
        winner = await _decision_at(journal, exc.existing_seq)
        said = f"{winner.decision} by {winner.decided_by}" if winner.decided_by else winner.decision
        await journal.append(
            ApprovalDecisionRefused(approval_id=approval.id, decision=decision, by=who, reason=f"already {said}")
        )
        raise ConflictError(f"approval {approval.id} was already decided ({said}); nothing was changed") from None


def _pending(view: RunView, approval_id: str | None) -> ApprovalView:
    pending = [a for a in view.approvals if a.status == "pending" and approval_id in (None, a.id)]
    if len(pending) == 1:
        return pending[0]
    if pending:
        raise ConflictError("several approvals are pending: name one with approval_id")
    decided = [a for a in view.approvals if a.id == approval_id]
    if decided:
        raise ConflictError(f"approval {approval_id} was already decided ({decided[0].status})")
    raise ConflictError("this run has no pending approval" + (f" with id {approval_id}" if approval_id else ""))


async def _decision_at(journal: RunJournal, seq: int) -> ApprovalDecided:
    for recorded in await journal.history(after=seq - 1):
        if isinstance(recorded.event, ApprovalDecided):
            return recorded.event
    raise ConflictError("the approval was decided, but its decision could not be read back")  # pragma: no cover
