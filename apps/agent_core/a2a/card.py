"""The agent card: who this agent is, where its JSON-RPC endpoint is, how to authenticate, and its skills.

Skills are ``run_task`` (a task in plain words, planned by the configured reasoner) and one per built-in workflow
template. A message picks a skill with a data part ``{"skill": <id>, "inputs": {...}}``; without one it is a
``run_task`` whose task is the message's text (see ``request.py``).
"""

from __future__ import annotations

from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT, TransportProtocol

from apps.agent_core.workflows.templates import list_templates

RPC_PATH = "/api/a2a"
"""Under /api, so the ALB's existing routing reaches it; the card itself is at the well-known path."""
RUN_TASK_SKILL = "run_task"
SECURITY_SCHEME = "bearer"


def skills() -> list[AgentSkill]:
    run_task = AgentSkill(
        id=RUN_TASK_SKILL,
        name="Run a task",
        description=(
            "A task in plain words, planned and run with the platform's tools by the configured reasoner. "
            "Destructive tool calls wait for a person's approval (the task is input-required meanwhile)."
        ),
        tags=["task", "tools"],
        examples=["List the S3 buckets", "How many orders per status are in the database?"],
    )
    templates = [
        AgentSkill(
            id=template.id,
            name=template.title,
            description=template.description
            + (f" Inputs (with defaults): {template.workflow.inputs}." if template.workflow.inputs else ""),
            tags=["workflow", "template"],
            examples=[f'{{"skill": "{template.id}", "inputs": {{}}}}'],
            input_modes=["application/json"],
        )
        for template in list_templates()
    ]
    return [run_task, *templates]


def agent_card(base_url: str, version: str) -> AgentCard:
    """The card, with the endpoint at ``base_url`` (the address clients reach this agent core at)."""
    bearer = SecurityScheme(
        http_auth_security_scheme=HTTPAuthSecurityScheme(
            scheme="Bearer",
            description="An API key of the platform: the viewer role reads tasks, the operator role sends and cancels.",
        )
    )
    return AgentCard(
        name="Agentic Workflows Platform",
        description=(
            "Runs tasks and workflow templates with the platform's MCP tools, behind its approvals, audit trail and "
            "API keys. Each task is one run of the platform, visible in its dashboard and API."
        ),
        supported_interfaces=[
            AgentInterface(
                url=base_url.rstrip("/") + RPC_PATH,
                protocol_binding=TransportProtocol.JSONRPC.value,
                protocol_version=PROTOCOL_VERSION_CURRENT,
            )
        ],
        provider=AgentProvider(organization="Agentic Workflows Platform", url=base_url.rstrip("/")),
        version=version,
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        security_schemes={SECURITY_SCHEME: bearer},
        security_requirements=[SecurityRequirement(schemes={SECURITY_SCHEME: StringList()})],
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["text/markdown", "application/json"],
        skills=skills(),
    )
