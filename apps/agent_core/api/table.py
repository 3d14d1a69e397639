"""The route table of the API under /api: every route's role, body model and documentation, in one list.

``app.py`` builds the Starlette routes from it and ``api/openapi.py`` the OpenAPI document, so what is
enforced and what is documented come from the same entry.
"""

from __future__ import annotations

from typing import Any

from apps.agent_core.api import routes, schedule_routes, trigger_routes
from apps.agent_core.api.endpoint import ApiRoute, QueryParam
from apps.agent_core.api.schemas import (
    ApprovalDecision,
    Caller,
    HealthReport,
    RunAccepted,
    RunList,
    StartRunRequest,
    TemplateList,
    ToolList,
    ValidateWorkflowRequest,
    ValidationReport,
)
from apps.agent_core.projection import RunView
from apps.agent_core.triggers.alert_intake import DeliveryReport
from apps.agent_core.triggers.alertmanager import AlertmanagerMessage
from apps.agent_core.triggers.schedules import Schedule, ScheduleList, SchedulePatch, ScheduleRequest

API_ROUTES: list[ApiRoute[Any]] = [
    ApiRoute(
        "POST",
        "/api",
        routes.run_and_wait,
        role="operator",
        body=StartRunRequest,
        summary="Run a task or workflow to completion (the original contract)",
        responses={200: RunView},
    ),
    ApiRoute(
        "POST",
        "/api/runs",
        routes.create_run,
        role="operator",
        body=StartRunRequest,
        summary="Start a run",
        responses={202: RunAccepted},
    ),
    ApiRoute(
        "GET",
        "/api/runs",
        routes.list_runs,
        role="viewer",
        summary="List runs, newest first",
        responses={200: RunList},
        query=(
            QueryParam("status", "string", "only runs with this status"),
            QueryParam("trigger", "string", "only runs started this way: api, schedule, alert, mcp or a2a"),
            QueryParam("limit", "integer", "1 to 200"),
            QueryParam("cursor", "string", "next_cursor of the previous page"),
        ),
    ),
    ApiRoute(
        "GET",
        "/api/runs/{run_id}",
        routes.get_run,
        role="viewer",
        summary="A run with its steps, turns and approvals",
        responses={200: RunView},
    ),
    ApiRoute(
        "GET",
        "/api/runs/{run_id}/events",
        routes.run_events,
        role="viewer",
        summary="The run's events as Server-Sent Events",
        responses={200: "Server-Sent Events; resume with Last-Event-ID"},
        query=(QueryParam("after", "integer", "resume after this event number"),),
    ),
    ApiRoute(
        "POST",
        "/api/runs/{run_id}/cancel",
        routes.cancel_run,
        role="operator",
        summary="Cancel a run",
        responses={202: RunAccepted},
    ),
    ApiRoute(
        "POST",
        "/api/runs/{run_id}/approvals",
        routes.decide_approval,
        role="approver",
        body=ApprovalDecision,
        summary="Approve or reject a pending step",
        responses={200: RunView},
    ),
    ApiRoute(
        "GET",
        "/api/tools",
        routes.list_tools,
        role="viewer",
        summary="Every tool of every MCP server",
        responses={200: ToolList},
        query=(QueryParam("refresh", "boolean", "reload the catalog now"),),
    ),
    ApiRoute(
        "GET",
        "/api/me",
        routes.me,
        role="viewer",
        summary="The calling key's name and roles",
        responses={200: Caller},
    ),
    ApiRoute(
        "GET",
        "/api/health",
        routes.health,
        role="viewer",
        summary="The agent core and each MCP server",
        responses={200: HealthReport},
    ),
    ApiRoute(
        "GET",
        "/api/workflows/templates",
        routes.templates,
        role="viewer",
        summary="Built-in workflow templates",
        responses={200: TemplateList},
    ),
    ApiRoute(
        "POST",
        "/api/workflows/validate",
        routes.validate,
        role="viewer",
        body=ValidateWorkflowRequest,
        summary="Check a workflow without running it",
        responses={200: ValidationReport},
    ),
    ApiRoute(
        "GET",
        "/api/schedules",
        schedule_routes.list_schedules,
        role="viewer",
        summary="Every schedule with its next tick and last run",
        responses={200: ScheduleList},
    ),
    ApiRoute(
        "POST",
        "/api/schedules",
        schedule_routes.create_schedule,
        role="operator",
        body=ScheduleRequest,
        summary="Create a schedule (cron with a time zone, or @every) that starts a template, workflow or task",
        responses={201: Schedule},
    ),
    ApiRoute(
        "GET",
        "/api/schedules/{schedule_id}",
        schedule_routes.get_schedule,
        role="viewer",
        summary="A schedule with its next tick and last run",
        responses={200: Schedule},
    ),
    ApiRoute(
        "PATCH",
        "/api/schedules/{schedule_id}",
        schedule_routes.update_schedule,
        role="operator",
        body=SchedulePatch,
        summary='Change, pause ({"enabled": false}) or resume a schedule',
        responses={200: Schedule},
    ),
    ApiRoute(
        "DELETE",
        "/api/schedules/{schedule_id}",
        schedule_routes.delete_schedule,
        role="operator",
        summary="Delete a schedule (its runs stay)",
        responses={204: "no body"},
    ),
    ApiRoute(
        "POST",
        "/api/schedules/{schedule_id}/run",
        schedule_routes.run_schedule,
        role="operator",
        summary="Run a schedule now, once, besides its ticks",
        responses={202: RunAccepted},
    ),
    ApiRoute(
        "POST",
        "/api/triggers/alertmanager",
        trigger_routes.alertmanager_webhook,
        role="trigger",
        body=AlertmanagerMessage,
        summary="Alertmanager's webhook (version 4): firing alerts start their rules' runs, once per firing",
        responses={200: DeliveryReport},
    ),
    ApiRoute(
        "GET",
        "/api/triggers",
        trigger_routes.list_rules,
        role="viewer",
        summary="The alert rules, built-in and from AGENTIC_TRIGGERS_FILE, with each one's last run",
        responses={200: trigger_routes.RuleList},
    ),
]
