"""A run as an A2A task: its state, the message saying why it waits or failed, and its artifacts.

One function per question, used both by the executor (to publish updates while it follows the run) and by the
task store (to answer ``GetTask`` for a task this replica never ran), so the two cannot describe a run differently.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from a2a.helpers.proto_helpers import new_data_part, new_text_part
from a2a.types.a2a_pb2 import Artifact, Message, Role, Task, TaskState, TaskStatus

from apps.agent_core.model import RunStatus
from apps.agent_core.projection import ApprovalView, RunView

CONTEXT_DETAIL = "context_id"
"""The key of ``RunTrigger.detail`` holding the A2A context id (the task id is the run id)."""

TASK_STATES: dict[RunStatus, TaskState] = {
    "queued": TaskState.TASK_STATE_SUBMITTED,
    "running": TaskState.TASK_STATE_WORKING,
    # A person must decide; A2A's word for "the task cannot go on until someone answers".
    "awaiting_approval": TaskState.TASK_STATE_INPUT_REQUIRED,
    "succeeded": TaskState.TASK_STATE_COMPLETED,
    "failed": TaskState.TASK_STATE_FAILED,
    # Stopped midway (a step whose outcome is unknown): not a success, and A2A has no closer state.
    "needs_attention": TaskState.TASK_STATE_FAILED,
    "cancelled": TaskState.TASK_STATE_CANCELED,
}

FINAL_ANSWER_ARTIFACT = "final_answer"


def agent_message(text: str, *, task_id: str, context_id: str) -> Message:
    return Message(
        message_id=uuid.uuid4().hex,
        role=Role.ROLE_AGENT,
        parts=[new_text_part(text)],
        task_id=task_id,
        context_id=context_id,
    )


def waiting_text(view: RunView, approval: ApprovalView, dashboard_url: str | None) -> str:
    """What waits and how a person with the approver role decides it (the A2A client cannot: it is out of band)."""
    where = f"in the dashboard ({dashboard_url}/#/runs/{view.id}), " if dashboard_url else "in the dashboard, "
    return (
        f"Waiting for approval of {approval.server}.{approval.tool} with arguments {_json(approval.arguments)}. "
        f"An approver decides it {where}with `python -m apps.cli approve {view.id}`, or with "
        f"POST /api/runs/{view.id}/approvals; this task goes on (or fails, if rejected) once decided."
    )


def status_text(view: RunView, dashboard_url: str | None) -> str | None:
    """The message that goes with the run's state, or None when the state says it all."""
    if view.status == "awaiting_approval":
        pending = next((a for a in view.approvals if a.status == "pending"), None)
        return waiting_text(view, pending, dashboard_url) if pending else "Waiting for approval."
    if view.status in ("failed", "needs_attention"):
        return view.error or f"The run ended {view.status}."
    if view.status == "cancelled":
        return view.error or "The run was cancelled."
    return None


def task_status(view: RunView, context_id: str, dashboard_url: str | None) -> TaskStatus:
    status = TaskStatus(state=TASK_STATES[view.status])
    text = status_text(view, dashboard_url)
    if text is not None:
        status.message.CopyFrom(agent_message(text, task_id=view.id, context_id=context_id))
    return status


def artifacts(view: RunView) -> list[Artifact]:
    """Each finished step's result as data, then the final answer as text: the answer is the last artifact."""
    found = [
        Artifact(
            artifact_id=f"step-{step.id}",
            name=f"{step.server}.{step.tool}" if step.server and step.tool else step.id,
            description=f"The result of step {step.id}.",
            parts=[new_data_part(step.result)],
        )
        for step in view.steps
        if step.status == "succeeded" and step.result is not None
    ]
    if view.final_answer:
        found.append(
            Artifact(
                artifact_id=FINAL_ANSWER_ARTIFACT,
                name=FINAL_ANSWER_ARTIFACT,
                description="The run's final answer.",
                parts=[new_text_part(view.final_answer, media_type="text/markdown")],
            )
        )
    return found


def context_of(view: RunView) -> str:
    return view.trigger.detail.get(CONTEXT_DETAIL) or view.id


def task_from_run(view: RunView, dashboard_url: str | None) -> Task:
    """The whole task as the run stands now (its artifacts once it has succeeded)."""
    context_id = context_of(view)
    task = Task(id=view.id, context_id=context_id, status=task_status(view, context_id, dashboard_url))
    if view.status == "succeeded":
        task.artifacts.extend(artifacts(view))
    task.metadata.update({"run_url": f"/api/runs/{view.id}"})
    return task


def _json(value: Any) -> str:
    # Clipped: a status message is read by a person; the exact arguments are in the run (and its hash binds them).
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 500 else text[:500] + "…"
