"""Starting, watching, cancelling and approving runs; the API's one entry point to them.

Also where runs move between replicas: ``recover`` takes over runs whose lease expired (their replica
died) and resumes them from the journal; ``shutdown`` hands this replica's runs off at their next step
boundary so another replica resumes them at once (see ``lease.py`` and ``replay.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from apps.agent_core.auth import Principal
from apps.agent_core.gateway.base import ToolGateway
from apps.agent_core.metrics import AgentCoreMetrics
from apps.agent_core.model import TERMINAL_STATUSES, RunHeader, RunStatus, RunTrigger, ToolSpec, TriggerKind
from apps.agent_core.projection import RunView, project
from apps.agent_core.reasoning.base import Budget, Reasoner
from apps.agent_core.reasoning.local_model import LocalModelProbe
from apps.agent_core.runs.approvals import ApprovalPolicy, DecisionChoice, record_decision
from apps.agent_core.runs.errors import ConflictError, DrainingError, RunRequestError
from apps.agent_core.runs.events import CancelRequested, Recorded, RunFinished, read
from apps.agent_core.runs.execution import RunExecution
from apps.agent_core.runs.journal import RunJournal, read_journal
from apps.agent_core.runs.lease import LeaseTerms, RunControl
from apps.agent_core.runs.notifier import RunNotifier
from apps.agent_core.runs.platform_status import HealthReport, ReasonerInfo, ToolList
from apps.agent_core.runs.replay import Replay
from apps.agent_core.runs.steps import StepExecutor
from apps.agent_core.store.base import RunNotFound, RunPage, RunStore, StoreError, VersionConflict
from apps.agent_core.workflows.document import WorkflowDocument, WorkflowParseError, parse_workflow
from apps.agent_core.workflows.validation import input_problems, validate_workflow

STORE_POLL_SECONDS = 1.0
"""How often a watcher re-reads the store for changes made by other replicas."""
RECOVERY_BATCH = 20
"""Runs taken over per look: a replica that finds many orphans leaves some for the others."""
HEALTH_LISTING_WAIT_SECONDS = 2.0
"""How long a health report waits for stale tool listings (and so capability statuses) to be reloaded."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunLimits:
    budget: Budget
    stored_result_bytes: int
    max_resumes: int = 3
    """Takeovers without progress after which a run is failed rather than resumed again (``execution.py``)."""


class RunService:
    def __init__(
        self,
        *,
        store: RunStore,
        gateway: ToolGateway,
        reasoner: Reasoner,
        policy: ApprovalPolicy,
        limits: RunLimits,
        metrics: AgentCoreMetrics,
        lease: LeaseTerms,
        recovery_interval_seconds: float = 1.0,
        local_model: LocalModelProbe | None = None,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.reasoner = reasoner
        self.policy = policy
        self.limits = limits
        self.metrics = metrics
        self.lease = lease
        self.recovery_interval_seconds = recovery_interval_seconds
        self.local_model = local_model
        """Asked again by ``health`` when ``AGENTIC_REASONER=auto`` found nothing configured; else ``None``."""
        self.notifier = RunNotifier()
        self.draining = False
        self._controls: dict[str, RunControl] = {}
        """The runs executing here, by id."""
        self._recovery: asyncio.Task[None] | None = None

    async def tools(self, *, refresh: bool = False) -> ToolList:
        """Every tool runs can call now, and every configured server (also one that cannot be used, saying why)."""
        tools = await self.gateway.tools(refresh=refresh)
        return ToolList(tools=tools, servers=self.gateway.server_statuses())

    async def health(self) -> HealthReport:
        """What runs depend on, probed now: ``degraded`` when the store or any server cannot be used."""
        # The servers' capability statuses come with their listings: a stale one is reloaded, but a server slow
        # to list must not slow the health page; the load goes on and the next look shows what it found.
        listing = asyncio.ensure_future(self.gateway.tools())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(listing), HEALTH_LISTING_WAIT_SECONDS)
        servers = await self.gateway.health()
        try:
            await self.store.check()
            store = "ok"
        except Exception as exc:  # reported, never raised: this is a health page
            store = f"unavailable: {exc}"
        ok = store == "ok" and all(server.reachable for server in servers)
        return HealthReport(
            status="ok" if ok else "degraded",
            reasoner=ReasonerInfo(name=self.reasoner.name, model=self.reasoner.model),
            store=store,
            servers=servers,
            local_model=await self.local_model.report() if self.local_model is not None else None,
        )

    async def validate_workflow(self, workflow: Any, tools: list[ToolSpec] | None = None) -> WorkflowDocument:
        """Parse and check a workflow against the live catalog, or raise ``RunRequestError`` listing every problem."""
        try:
            document = parse_workflow(workflow)
        except WorkflowParseError as exc:
            raise RunRequestError(list(exc.problems)) from None
        tools = tools if tools is not None else await self.gateway.tools()
        answering = {tool.server for tool in tools}
        unavailable = [name for name in self.gateway.servers if name not in answering]
        problems = validate_workflow(document, tools, unavailable)
        if problems:
            raise RunRequestError(problems)
        return document

    async def start(
        self,
        *,
        principal: Principal,
        task: str | None = None,
        workflow: Any = None,
        inputs: dict[str, Any] | None = None,
        trigger: RunTrigger | None = None,
        run_id: str | None = None,
    ) -> RunHeader:
        """Validate and start a run; ``RunExists`` when ``run_id`` is taken (a trigger already started it).

        A trigger passes a ``run_id`` derived from what it fires for (``triggers/ids.py``): the store's
        conditional create then starts exactly one run for it across every replica.
        """
        if self.draining:
            raise DrainingError("this replica is shutting down; start the run again (another replica will take it)")
        tools = await self.gateway.tools()
        document = await self.validate_workflow(workflow, tools) if workflow is not None else None
        if document is not None and (unknown := input_problems(document, inputs or {})):
            raise RunRequestError(unknown)
        now = time.time()
        request: dict[str, Any] = {"task": task} if document is None else {"workflow": workflow, "inputs": inputs or {}}
        title = (task or (document.name if document else "") or "workflow").strip()
        header = RunHeader(
            id=run_id or uuid.uuid4().hex,
            kind="task" if document is None else "workflow",
            status="queued",
            owner=principal.name,
            title=title[:200],
            request=request,
            reasoner=self.reasoner.name,
            model=self.reasoner.model,
            created_at=now,
            updated_at=now,
            trigger=trigger or RunTrigger(),
            **self.lease.granted(now),
        )
        await self.store.create(header)
        self._launch(header, tools, document)
        return header

    def _launch(
        self, header: RunHeader, tools: list[ToolSpec], document: WorkflowDocument | None, replay: Replay | None = None
    ) -> None:
        journal = RunJournal(self.store, self.notifier, header.id, lease_owner=self.lease.owner, known=header)
        control = RunControl(journal, self.lease)
        execution = RunExecution(
            header,
            journal=journal,
            steps=StepExecutor(
                journal=journal,
                gateway=self.gateway,
                catalog={(spec.server, spec.name): spec for spec in tools},
                policy=self.policy,
                metrics=self.metrics,
                stored_result_bytes=self.limits.stored_result_bytes,
                control=control,
                replay=replay,
            ),
            reasoner=self.reasoner,
            budget=self.limits.budget,
            metrics=self.metrics,
            workflow=document,
            max_resumes=self.limits.max_resumes,
        )
        control.task = asyncio.create_task(execution.execute(), name=f"run-{header.id}")
        self._controls[header.id] = control
        control.task.add_done_callback(lambda _: self._ended_here(header.id))

    def _ended_here(self, run_id: str) -> None:
        """The run finished or was let go: this replica keeps nothing of it (its final write has notified)."""
        self._controls.pop(run_id, None)
        self.notifier.forget(run_id)

    # -- runs whose replica died -----------------------------------------------------------------

    def start_recovery(self) -> None:
        """Look for runs to take over now and every ``recovery_interval_seconds`` until shutdown."""
        if self._recovery is None:
            self._recovery = asyncio.create_task(self._recover_forever(), name="run-recovery")

    async def _recover_forever(self) -> None:
        while not self.draining:
            try:
                await self.recover()
            except StoreError as exc:
                log.warning("could not look for runs to take over: %s", exc)
            await asyncio.sleep(self.recovery_interval_seconds)

    async def recover(self) -> list[str]:
        """Take over runs whose lease has expired and resume them here; returns their ids."""
        taken: list[str] = []
        now = time.time()
        for header in await self.store.expired_leases(now, limit=RECOVERY_BATCH):
            if self.draining or header.id in self._controls:
                continue
            try:
                # Conditional on the version read: of several replicas trying at once, exactly one wins.
                mine = await self.store.update(
                    header.model_copy(update={**self.lease.granted(time.time()), "updated_at": time.time()})
                )
            except VersionConflict:
                continue
            try:
                await self._resume(mine, previous_owner=header.lease_owner)
            except StoreError as exc:  # its lease lapses again and it is retried once the store answers
                log.warning("could not resume a run: %s", exc, extra={"run_id": header.id})
                continue
            except Exception as exc:  # a run that cannot be resumed now never will be: end it, saying why
                log.exception("could not resume a run; it was failed", extra={"run_id": header.id})
                await self._fail_unresumable(mine, exc)
                continue
            # Its last replica may have stopped before telling the run's sinks it waits for a person; the
            # journal's once keys keep a notification it did send from being sent again.
            self.notifier.status_written(mine)
            taken.append(header.id)
        return taken

    async def _resume(self, header: RunHeader, previous_owner: str | None) -> None:
        replay = Replay.from_events(await read_journal(self.store, header.id))
        replay.previous_owner = previous_owner or replay.previous_owner
        document = parse_workflow(header.request["workflow"]) if header.kind == "workflow" else None
        tools = await self.gateway.tools()
        log.info("resuming a run", extra={"run_id": header.id, "previous_owner": previous_owner})
        self._launch(header, tools, document, replay)

    async def _fail_unresumable(self, header: RunHeader, problem: Exception) -> None:
        journal = RunJournal(self.store, self.notifier, header.id, lease_owner=self.lease.owner, known=header)
        error = f"the run could not be resumed after its replica stopped: {problem}"
        try:
            await journal.append(RunFinished(status="failed", error=error))
            await journal.update(
                lambda _: {
                    "status": "failed",
                    "error": error,
                    "finished_at": time.time(),
                    "lease_owner": None,
                    "lease_expires_at": None,
                }
            )
        except StoreError as exc:
            log.warning("could not record that a run cannot be resumed: %s", exc, extra={"run_id": header.id})
        self.notifier.forget(header.id)

    async def header(self, run_id: str) -> RunHeader | None:
        """The run's header (status, owner, timing), or ``None`` when there is no such run."""
        return await self.store.get(run_id)

    async def view(self, run_id: str) -> RunView | None:
        # Events first: a header read after them is as new or newer, never older than the steps shown.
        journal = await read_journal(self.store, run_id)
        header = await self.store.get(run_id)
        if header is None:
            return None
        if header.status in TERMINAL_STATUSES and not any(isinstance(r.event, RunFinished) for r in journal):
            # It ended between the two reads. Its ending was journaled before the header said so, so it is
            # there now: without it the view would take the header's status and call the last step cancelled.
            journal += await read_journal(self.store, run_id, after=journal[-1].seq if journal else 0)
        return project(header, journal)

    async def list_runs(
        self, *, status: RunStatus | None, limit: int, cursor: str | None, trigger: TriggerKind | None = None
    ) -> RunPage:
        return await self.store.list(status=status, trigger=trigger, limit=limit, cursor=cursor)

    async def wait_until_settled(self, run_id: str, timeout: float) -> RunView | None:
        """Wait until the run has finished or waits for a person; the original ``POST /api`` contract."""
        deadline = time.monotonic() + timeout
        while True:
            signal = self.notifier.signal(run_id, status=True)
            header = await self.store.get(run_id)
            if header is None or header.status in TERMINAL_STATUSES or header.status == "awaiting_approval":
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await self.notifier.wait(run_id, min(STORE_POLL_SECONDS, remaining), signal)
        return await self.view(run_id)

    async def cancel(self, run_id: str, principal: Principal) -> RunHeader:
        journal = RunJournal(self.store, self.notifier, run_id)
        header = await self.store.get(run_id)
        if header is None:
            raise RunNotFound(run_id)
        if header.status in TERMINAL_STATUSES:
            raise ConflictError(f"the run has already finished ({header.status})")
        await journal.append(CancelRequested(by=principal.name))
        header = await journal.update(lambda _: {"cancel_requested": True})
        local = self._controls.get(run_id)
        if local is not None:
            local.interrupt("cancel", now=True)  # elsewhere, the owner's heartbeat sees it within a second
        return header

    async def decide(self, run_id: str, principal: Principal, choice: DecisionChoice) -> RunView:
        """Record a person's decision on the run's pending approval; the first decision wins (see ``approvals.py``)."""
        view = await self.view(run_id)
        if view is None:
            raise RunNotFound(run_id)
        journal = RunJournal(self.store, self.notifier, run_id)
        await record_decision(journal, view, principal.name, choice)
        # The waiting step would say so at its next poll; saying it now keeps the answer and lists current.
        await journal.update(lambda h: {"status": "running"} if h.status == "awaiting_approval" else {})
        result = await self.view(run_id)
        assert result is not None
        return result

    async def follow(self, run_id: str, after: int) -> AsyncIterator[Recorded]:
        """Events after ``after``, then new ones as they happen, until the run finishes."""
        while True:
            signal = self.notifier.signal(run_id)
            events = [read(stored) for stored in await self.store.events(run_id, after=after)]
            for recorded in events:
                after = recorded.seq
                yield recorded
                if isinstance(recorded.event, RunFinished):
                    return
            if not events:
                header = await self.store.get(run_id)
                # A client resuming after the last event has nothing more to wait for.
                if header is None or (header.status in TERMINAL_STATUSES and header.finished_at is not None):
                    return
            await self.notifier.wait(run_id, STORE_POLL_SECONDS, signal)

    async def shutdown(self, drain_seconds: float = 20.0) -> None:
        """Take no new runs; hand every run here off at its next step boundary, within ``drain_seconds``.

        A step in flight finishes and is journaled first, so the replica that resumes the run repeats
        nothing. A run still busy at the deadline is cut off there: its lease lapses and the replica that
        takes it over applies the in-flight rule (retry if read-only or idempotent, else needs_attention).
        """
        self.draining = True
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
        for control in list(self._controls.values()):
            control.interrupt("handoff")
        tasks = [control.task for control in self._controls.values() if control.task is not None]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=drain_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
