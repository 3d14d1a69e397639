"""The SDK's task store, backed by the runs: a task this replica never ran is read from its run.

The agent core runs as several replicas behind one load balancer: ``SendMessage`` lands on one, a later
``GetTask`` or ``CancelTask`` may land on another. The SDK's in-memory store holds what this replica's executor
published (history, artifacts as they came); any other task is projected from the shared run store, and a
task the SDK saves as canceled (``CancelTask`` for a task running elsewhere) cancels its run.
"""

from __future__ import annotations

import contextlib

from a2a.server.context import ServerCallContext
from a2a.server.tasks import InMemoryTaskStore, TaskStore
from a2a.types.a2a_pb2 import ListTasksRequest, ListTasksResponse, Task, TaskState

from apps.agent_core.a2a.executor import caller
from apps.agent_core.a2a.mapping import task_from_run
from apps.agent_core.model import TERMINAL_STATUSES
from apps.agent_core.runs.errors import ConflictError
from apps.agent_core.runs.service import RunService


def _platform_wide(_: ServerCallContext) -> str:
    # Runs are visible to every key that can read (the dashboard's history): tasks are too, not per key.
    return "platform"


class RunTaskStore(TaskStore):
    def __init__(self, runs: RunService, dashboard_url: str | None) -> None:
        self._runs = runs
        self._dashboard_url = dashboard_url
        self._here = InMemoryTaskStore(owner_resolver=_platform_wide)

    async def save(self, task: Task, context: ServerCallContext) -> None:
        await self._here.save(task, context)
        if task.status.state == TaskState.TASK_STATE_CANCELED:
            header = await self._runs.header(task.id)
            if header is not None and header.trigger.kind == "a2a" and header.status not in TERMINAL_STATUSES:
                with contextlib.suppress(ConflictError):  # it finished meanwhile
                    await self._runs.cancel(task.id, caller(context))

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        found = await self._here.get(task_id, context)
        if found is not None:
            return found
        view = await self._runs.view(task_id)
        if view is None or view.trigger.kind != "a2a":
            return None  # a run started any other way is not an A2A task
        return task_from_run(view, self._dashboard_url)

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        # This replica's tasks only; the run history (GET /api/runs?trigger=a2a) lists every replica's.
        return await self._here.list(params, context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        await self._here.delete(task_id, context)
