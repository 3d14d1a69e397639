"""A ``tools/call`` as a run: start it, wait for it (and for a person's decision), answer with what it did.

A server's tool is called as a workflow of one step, so it goes through exactly what a workflow step goes
through: the catalog's checks, approvals bound to the exact arguments, the breaker, the result cap, the
journal, audit and metrics. A template runs as its workflow, ``run_task`` as a task for the reasoner.

While the run waits for approval the call waits too, up to ``approval_wait_seconds`` in all, telling the
client it is still waiting (``notifications/progress``, when it sent a progress token). Past that it answers
with an error result naming the run and where it is decided: the run goes on waiting, and the decision
made later still counts.

Every answer that is not the run's own success is ``isError``: a client then never validates a refusal, a
timeout or a result too large for the journal against the tool's output schema.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp_types import CallToolResult, ContentBlock, ResourceLink, TextContent
from pydantic import TypeAdapter, ValidationError

from apps.agent_core.auth import Principal
from apps.agent_core.gateway.content import Block, ToolContent, block_text, tool_content
from apps.agent_core.mcp_endpoint.catalog import MAX_TASK_CHARS, Offer
from apps.agent_core.model import TERMINAL_STATUSES, RunHeader, RunTrigger
from apps.agent_core.projection import RunView, StepView
from apps.agent_core.runs.errors import RunRequestError
from apps.agent_core.runs.service import STORE_POLL_SECONDS, RunService
from apps.agent_core.workflows.references import contains_template

STEP_ID = "call"
RUN_META = "agentic-workflows/run"
"""The ``_meta`` key of every answer naming the run it made."""
MAX_TEMPLATED_ARGUMENTS = 20
"""A workflow's inputs are bounded (``document.MAX_INPUTS``); see ``one_step_workflow``."""

_BLOCK: TypeAdapter[ContentBlock] = TypeAdapter(ContentBlock)
"""A kept block (``gateway/content.py``, MCP's wire shape) back as the SDK's content block."""

Progress = Callable[[float, float | None, str], Awaitable[None]]
"""Reports (elapsed seconds, total seconds, message) to the client; does nothing when it asked for none."""


@dataclass(frozen=True)
class CallLimits:
    run_seconds: float
    """How long a call waits for its run to finish while nobody needs to decide anything."""
    approval_seconds: float
    """How long, in all, a call waits for people's decisions before answering that the run waits."""
    dashboard_url: str | None = None


def one_step_workflow(offer: Offer, arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The workflow (and its inputs) that calls ``offer``'s tool with ``arguments`` exactly as given.

    Step arguments are templates (``{{ … }}`` is evaluated): an argument holding that text is passed as a
    workflow input instead, whose value is used as it is, never evaluated.
    """
    assert offer.spec is not None
    literal: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    for key, value in arguments.items():
        if contains_template(value):
            name = f"arg_{len(inputs)}"
            inputs[name] = value
            literal[key] = "{{ inputs." + name + " }}"
        else:
            literal[key] = value
    if len(inputs) > MAX_TEMPLATED_ARGUMENTS:
        raise RunRequestError([f"at most {MAX_TEMPLATED_ARGUMENTS} arguments may contain '{{{{'"])
    workflow = {
        "name": "mcp_call",
        "description": f"{offer.spec.server}.{offer.spec.name}, called through the MCP endpoint",
        "inputs": dict.fromkeys(inputs),
        "steps": [
            {"id": STEP_ID, "tool": {"server": offer.spec.server, "name": offer.spec.name}, "arguments": literal}
        ],
    }
    return workflow, inputs


async def start(
    service: RunService, offer: Offer, arguments: dict[str, Any], principal: Principal, trigger: RunTrigger
) -> RunHeader:
    """Start the run ``offer`` stands for; ``RunRequestError`` when its arguments are refused."""
    if offer.kind == "server_tool":
        workflow, inputs = one_step_workflow(offer, arguments)
        return await service.start(principal=principal, workflow=workflow, inputs=inputs, trigger=trigger)
    if offer.kind == "template":
        assert offer.template is not None
        workflow = offer.template.workflow.model_dump(mode="json")
        return await service.start(principal=principal, workflow=workflow, inputs=arguments, trigger=trigger)
    task = arguments.get("task")
    if not isinstance(task, str) or not task.strip():
        raise RunRequestError(["run_task takes 'task': the task, in plain words"])
    if len(task) > MAX_TASK_CHARS:  # the schema says so; a client need not have checked, so the bound holds here
        raise RunRequestError([f"the task is longer than {MAX_TASK_CHARS} characters"])
    return await service.start(principal=principal, task=task, trigger=trigger)


async def wait(service: RunService, run_id: str, limits: CallLimits, progress: Progress) -> RunView:
    """Wait until the run has finished, or has waited for people longer than ``limits`` allow."""
    began = time.monotonic()
    run_deadline = began + limits.run_seconds
    approval_left = limits.approval_seconds
    while True:
        # The signal first, then the read: a change in between wakes the wait at once.
        signal = service.notifier.signal(run_id, status=True)
        header = await service.header(run_id)
        if header is None or header.status in TERMINAL_STATUSES:
            break
        now = time.monotonic()
        if header.status == "awaiting_approval":
            if approval_left <= 0:
                break
            await progress(now - began, None, f"run {run_id} waits for approval")
            step = min(STORE_POLL_SECONDS, approval_left)
            await service.notifier.wait(run_id, step, signal)
            approval_left -= time.monotonic() - now
            run_deadline += time.monotonic() - now  # time spent waiting for people is not the run's
        else:
            if now >= run_deadline:
                break
            await service.notifier.wait(run_id, min(STORE_POLL_SECONDS, run_deadline - now), signal)
    view = await service.view(run_id)
    assert view is not None
    return view


def _text(text: str) -> TextContent:
    return TextContent(text=text)


def _run_link(view: RunView) -> ResourceLink:
    return ResourceLink(uri=f"run://{view.id}", name=f"run {view.id}", title=view.title, mime_type="application/json")


def _where(run_id: str, limits: CallLimits) -> str:
    dashboard = f"{limits.dashboard_url.rstrip('/')}/#/runs/{run_id}" if limits.dashboard_url else "the dashboard"
    return f"{dashboard}, 'cli approve {run_id}', or POST /api/runs/{run_id}/approvals"


def _error(message: str, view: RunView) -> CallToolResult:
    return CallToolResult(content=[_text(message), _run_link(view)], is_error=True, _meta={RUN_META: view.id})


def _step_answer(step: StepView) -> CallToolResult:
    result = step.result
    content = tool_content(result)
    if isinstance(content, ToolContent):
        return CallToolResult(
            content=[_block(block) for block in content.content], structured_content=content.structured
        )
    if isinstance(result, str):
        return CallToolResult(content=[_text(result)])
    text = json.dumps(result, ensure_ascii=False, default=str)
    structured = result if isinstance(result, dict) else None
    return CallToolResult(content=[_text(text)], structured_content=structured)


def _block(block: Block) -> ContentBlock:
    """A kept block as MCP content; one whose data the journal could not keep is described in text instead."""
    try:
        return _BLOCK.validate_python(block.model_dump(mode="json", exclude_none=True))
    except ValidationError:
        return _text(block_text(block))


def answer(offer: Offer, view: RunView, limits: CallLimits) -> CallToolResult:
    """What the client gets: the step's result (a server's tool) or the final answer, else why there is none."""
    pending = [approval for approval in view.approvals if approval.status == "pending"]
    if view.status == "awaiting_approval" or (pending and view.status not in TERMINAL_STATUSES):
        what = f"{pending[0].server}.{pending[0].tool}" if pending else "a step"
        return _error(
            f"Not done yet: run {view.id} waits for a person to approve {what}. Decide it in "
            f"{_where(view.id, limits)}; read run://{view.id} for its outcome.",
            view,
        )
    if view.status not in TERMINAL_STATUSES:
        return _error(f"Run {view.id} is still {view.status}; read run://{view.id} for its outcome.", view)
    rejected = [approval for approval in view.approvals if approval.status in ("rejected", "expired")]
    if offer.kind == "server_tool":
        step = next((step for step in view.steps if step.id == STEP_ID), None)
        if view.status == "succeeded" and step is not None and step.status == "succeeded":
            if isinstance(step.result, dict) and step.result.get("truncated") is True and "preview" in step.result:
                return _error(
                    f"The result ({step.result.get('size_bytes')} bytes) is larger than the run's journal keeps "
                    f"(AGENTIC_STORED_RESULT_BYTES); its start: {step.result['preview']}",
                    view,
                )
            found = _step_answer(step)
            # The run beside the tool's own content: a client (or its model) can read what happened and when.
            return found.model_copy(update={"content": [*found.content, _run_link(view)], "meta": {RUN_META: view.id}})
        if rejected:
            approval = rejected[0]
            reason = f": {approval.reason}" if approval.reason else ""
            by = f" by {approval.decided_by}" if approval.decided_by else ""
            return _error(f"The call was {approval.status}{by}{reason}", view)
        error = (step.error if step is not None else None) or view.error or f"the run ended {view.status}"
        return _error(error, view)
    if view.status == "succeeded":
        answer_text = view.final_answer or "(the run finished without an answer)"
        return CallToolResult(
            content=[_text(answer_text), _text(f"Run {view.id}: {_where_to_read(view.id, limits)}"), _run_link(view)],
            structured_content={"run_id": view.id, "status": view.status, "final_answer": view.final_answer},
            _meta={RUN_META: view.id},
        )
    return _error(view.error or f"run {view.id} ended {view.status}", view)


def _where_to_read(run_id: str, limits: CallLimits) -> str:
    if limits.dashboard_url:
        return f"{limits.dashboard_url.rstrip('/')}/#/runs/{run_id}"
    return f"run://{run_id} (GET /api/runs/{run_id})"
