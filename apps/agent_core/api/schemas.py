"""The API's request and response bodies; the OpenAPI document is generated from these models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from apps.agent_core.auth import Role
from apps.agent_core.model import RunKind, RunStatus, RunTrigger, TokenUsage
from apps.agent_core.runs.approvals import DecisionChoice
from apps.agent_core.runs.platform_status import HealthReport, ReasonerInfo, ToolList
from apps.agent_core.workflows.templates import WorkflowTemplate

__all__ = ["HealthReport", "ReasonerInfo", "ToolList"]  # re-exported: part of the API's bodies


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExternalPayload(BaseModel):
    """A body another system defines and sends on its own (Alertmanager's webhook), not one our clients write.

    Fields a later version of the sender adds are ignored, not refused: such a sender retries only on a 5xx, so a
    4xx for a field it added would drop what it sent (an alert) without anyone seeing it. Everything we read is
    still required and bounded.
    """

    model_config = ConfigDict(extra="ignore")


class StartRunRequest(StrictBody):
    """Either a task in plain words (the reasoner plans it) or a workflow document (steps run as written)."""

    task: str | None = Field(default=None, min_length=1, max_length=20_000)
    workflow: dict[str, Any] | str | None = Field(
        default=None, description="A workflow document, or its JSON/YAML text"
    )
    inputs: dict[str, Any] | None = Field(default=None, description="Values for the workflow's inputs")

    @model_validator(mode="after")
    def _exactly_one(self) -> StartRunRequest:
        if (self.task is None) == (self.workflow is None):
            raise ValueError("send exactly one of 'task' or 'workflow'")
        if self.inputs is not None and self.workflow is None:
            raise ValueError("'inputs' only applies to a workflow")
        return self


class ApprovalDecision(StrictBody, DecisionChoice):
    """``approve`` (with the exact ``arguments`` or their ``arguments_hash``) or ``reject``."""


class ValidateWorkflowRequest(StrictBody):
    workflow: dict[str, Any] | str


class RunAccepted(BaseModel):
    id: str
    status: RunStatus
    links: dict[str, str]


class RunSummary(BaseModel):
    id: str
    kind: RunKind
    status: RunStatus
    owner: str
    title: str
    trigger: RunTrigger
    reasoner: str
    model: str | None
    created_at: float
    finished_at: float | None
    usage: TokenUsage


class Caller(BaseModel):
    """Who the request's API key is: what a client needs to offer only what the key may do."""

    name: str
    roles: list[Role]


class RunList(BaseModel):
    runs: list[RunSummary]
    next_cursor: str | None


class ValidationReport(BaseModel):
    valid: bool
    problems: list[str]


class TemplateList(BaseModel):
    templates: list[WorkflowTemplate]


class Problem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    message: str
    problems: list[Problem | str] = Field(default_factory=list)
