"""What the endpoint offers one caller: the servers' tools, the templates and ``run_task``, as MCP tools.

A server's tool is offered as ``<server>__<tool>`` (``reasoning/tool_names.py``: names every MCP client and
model accepts, mapped back without ambiguity). Only tools their servers can run now are offered. What a key
sees follows its roles: a viewer only the tools that read and never wait for approval; an operator also the
other tools, the templates whose tools are all offered, and ``run_task``, which start runs that may call anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mcp_types import Tool, ToolAnnotations

from apps.agent_core.auth import Principal
from apps.agent_core.model import ToolSpec, offered
from apps.agent_core.reasoning.tool_names import ToolNameMap, input_schema, tool_description
from apps.agent_core.runs.approvals import ApprovalPolicy
from apps.agent_core.workflows.document import placed_steps
from apps.agent_core.workflows.templates import WorkflowTemplate, list_templates

TEMPLATE_PREFIX = "template__"
RUN_TASK = "run_task"
MAX_TASK_CHARS = 20_000

_RUN_TASK_TOOL = Tool(
    name=RUN_TASK,
    title="Run a task",
    description=(
        "Have the platform's reasoner carry out a task described in plain words, using the platform's tools. "
        "Returns its final answer and the run's id; destructive calls wait for a person's approval."
    ),
    input_schema={
        "type": "object",
        "properties": {"task": {"type": "string", "minLength": 1, "maxLength": MAX_TASK_CHARS}},
        "required": ["task"],
        "additionalProperties": False,
    },
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True),
)


@dataclass(frozen=True)
class Offer:
    """One tool as listed, and what calling it starts."""

    tool: Tool
    kind: Literal["server_tool", "template", "run_task"]
    spec: ToolSpec | None = None
    template: WorkflowTemplate | None = None


def viewer_may_call(spec: ToolSpec, policy: ApprovalPolicy) -> bool:
    """A viewer key may call only what reads and never waits for a person."""
    return spec.read_only and not policy.needs_approval(spec.server, spec.name, spec)


def _server_tool(name: str, spec: ToolSpec) -> Tool:
    return Tool(
        name=name,
        description=tool_description(spec),
        input_schema=input_schema(spec),
        output_schema=spec.output_schema,
        annotations=ToolAnnotations(
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=spec.open_world,
        ),
    )


def _input_type(default: Any) -> dict[str, Any]:
    # A template's inputs are declared by their defaults only; the default's JSON type is the best hint there is.
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    kind = kinds.get(type(default))
    schema: dict[str, Any] = {"type": kind} if kind else {}
    if default is not None:
        schema["default"] = default
    return schema


def _template_tool(template: WorkflowTemplate) -> Tool:
    inputs = template.workflow.inputs
    return Tool(
        name=TEMPLATE_PREFIX + template.id,
        title=template.title,
        description=f"{template.description} Runs the built-in workflow '{template.id}'; returns its answer.",
        input_schema={
            "type": "object",
            "properties": {name: _input_type(default) for name, default in inputs.items()},
            "additionalProperties": False,
        },
        annotations=ToolAnnotations(
            title=template.title, read_only_hint=False, destructive_hint=True, open_world_hint=True
        ),
    )


def offers(tools: list[ToolSpec], principal: Principal, policy: ApprovalPolicy) -> dict[str, Offer]:
    """Every tool ``principal`` may see, by its MCP name, in a stable order."""
    available = offered(tools)
    names = ToolNameMap(available)
    operator = principal.can("operator")
    found: dict[str, Offer] = {}
    for name, spec in zip(names.names, names.specs, strict=True):
        if operator or viewer_may_call(spec, policy):
            found[name] = Offer(_server_tool(name, spec), "server_tool", spec=spec)
    if operator:
        runnable = {(spec.server, spec.name) for spec in available}
        for template in list_templates():
            # A template whose tools are not all here would only fail: it is not offered.
            if any((p.step.tool.server, p.step.tool.name) not in runnable for p in placed_steps(template.workflow)):
                continue
            tool = _template_tool(template)
            found[tool.name] = Offer(tool, "template", template=template)
        found[RUN_TASK] = Offer(_RUN_TASK_TOOL, "run_task")
    return found
