"""The A2A agent executor: each task is one run, started with ``trigger.kind = "a2a"`` and followed to its end.

The task id is the run id (``/api/runs/<task id>`` shows it), so the dashboard, the CLI and the audit trail see an
A2A task like any other run. ``execute`` publishes the run's state each time its status changes, using the run's
own wake-ups (``RunNotifier``) with the same slow store poll as every other watcher for changes made elsewhere.
A run waiting for approval is ``input-required`` and ``execute`` keeps following it: the decision is made out of
band (dashboard, CLI, API, by someone with the approver role), as the SDK describes for out-of-band auth.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from a2a.helpers.proto_helpers import new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.context import ServerCallContext
from a2a.server.events import EventQueue
from a2a.server.id_generator import IDGenerator, IDGeneratorContext
from a2a.server.tasks import TaskUpdater
from a2a.types.a2a_pb2 import Task, TaskState, TaskStatus
from a2a.utils.errors import InternalError, InvalidParamsError, TaskNotFoundError, UnsupportedOperationError

from apps.agent_core.a2a.mapping import CONTEXT_DETAIL, TASK_STATES, artifacts, status_text
from apps.agent_core.a2a.request import run_request
from apps.agent_core.auth import Principal
from apps.agent_core.model import TERMINAL_STATUSES, RunTrigger
from apps.agent_core.projection import RunView
from apps.agent_core.runs.errors import ConflictError, DrainingError, RunRequestError
from apps.agent_core.runs.service import STORE_POLL_SECONDS, RunService
from apps.agent_core.store.base import RunNotFound

PRINCIPAL_STATE = "agentic-workflows/principal"
"""Where the JSON-RPC route leaves the authenticated caller in the SDK's ``ServerCallContext.state``."""
CANCEL_WAIT_SECONDS = 10.0
"""How long CancelTask waits for the run to stop; past it the task reads canceled and the run stops on its own."""


class RunIds(IDGenerator):
    """Task ids in the run ids' own form (32 hex digits), since a task id becomes a run id."""

    def generate(self, context: IDGeneratorContext) -> str:
        return uuid.uuid4().hex


def caller(context: ServerCallContext) -> Principal:
    found = context.state.get(PRINCIPAL_STATE)
    if not isinstance(found, Principal):  # every request passes the route's key check first
        raise InternalError(message="the request reached the agent without an authenticated caller")
    return found


class RunExecutor(AgentExecutor):
    def __init__(self, runs: RunService, dashboard_url: str | None) -> None:
        self._runs = runs
        self._dashboard_url = dashboard_url

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        if context.current_task is not None:
            raise UnsupportedOperationError(
                message="this agent takes one message per task: approvals are decided in the platform; "
                "send a new message (without a task id) for a new task"
            )
        request = run_request(context.message)
        task_id, context_id = str(context.task_id), str(context.context_id)
        await event_queue.enqueue_event(
            Task(
                id=task_id,
                context_id=context_id,
                status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                history=[context.message] if context.message else [],
            )
        )
        try:
            await self._runs.start(
                principal=caller(context.call_context),
                task=request.task,
                workflow=request.workflow,
                inputs=request.inputs,
                trigger=RunTrigger(kind="a2a", id=task_id, detail={CONTEXT_DETAIL: context_id}),
                run_id=task_id,
            )
        except RunRequestError as exc:
            raise InvalidParamsError(message="; ".join(exc.problems)) from None
        except DrainingError as exc:
            raise InternalError(message=str(exc)) from None
        updater = TaskUpdater(event_queue, task_id, context_id)
        async for view in self._changes(task_id):
            if view.status == "succeeded":
                for artifact in artifacts(view):
                    await updater.add_artifact(
                        list(artifact.parts), artifact_id=artifact.artifact_id, name=artifact.name, last_chunk=True
                    )
            text = status_text(view, self._dashboard_url)
            message = updater.new_agent_message([new_text_part(text)]) if text else None
            await updater.update_status(TASK_STATES[view.status], message=message)

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Cancel the run and wait (bounded) for it to stop; ``execute`` publishes the canceled state it reaches."""
        run_id = str(context.task_id)
        try:
            await self._runs.cancel(run_id, caller(context.call_context))
        except RunNotFound:
            raise TaskNotFoundError from None
        except ConflictError:
            return  # it finished first: the task says how
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CANCEL_WAIT_SECONDS):
                async for _ in self._changes(run_id):
                    pass

    async def _changes(self, run_id: str) -> AsyncIterator[RunView]:
        """The run's view each time its status or its status message changes, until it has finished."""
        shown: tuple[str, str | None] | None = None
        while True:
            signal = self._runs.notifier.signal(run_id, status=True)  # before the read: no change is missed
            view = await self._runs.view(run_id)
            if view is None:
                raise InternalError(message=f"the run {run_id} is gone")
            now = (view.status, status_text(view, self._dashboard_url))
            if now != shown and view.status != "queued":
                shown = now
                yield view
            if view.status in TERMINAL_STATUSES:
                return
            await self._runs.notifier.wait(run_id, STORE_POLL_SECONDS, signal)
