"""``create_app(settings)``: the agent core as one Starlette app, wired from its settings."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.agent_core.api import routes
from apps.agent_core.api.http import ApiError, JsonBodyLimit
from apps.agent_core.api.openapi import Operation, openapi_document
from apps.agent_core.api.schemas import (
    ApprovalDecision,
    HealthReport,
    RunAccepted,
    RunList,
    StartRunRequest,
    TemplateList,
    ToolList,
    ValidateWorkflowRequest,
    ValidationReport,
)
from apps.agent_core.auth import ApiKeys
from apps.agent_core.gateway.gateway import McpGateway, parse_mcp_servers
from apps.agent_core.metrics import AgentCoreMetrics
from apps.agent_core.projection import RunView
from apps.agent_core.reasoning.base import Budget
from apps.agent_core.reasoning.factory import create_reasoner
from apps.agent_core.runs.approvals import ApprovalPolicy
from apps.agent_core.runs.lease import LeaseTerms
from apps.agent_core.runs.service import (
    ConflictError,
    DrainingError,
    GoneError,
    RunLimits,
    RunRequestError,
    RunService,
)
from apps.agent_core.settings import AgentCoreSettings
from apps.agent_core.store import open_store
from apps.agent_core.store.base import InvalidCursor, RunNotFound, StoreError
from apps.common.metrics import ObserveRequests
from apps.common.settings import ConfigurationError

VERSION = "1.0.0"

OPERATIONS = [
    Operation(
        "POST",
        "/api",
        routes.run_and_wait,
        "Run a task or workflow to completion (the original contract)",
        "operator",
        StartRunRequest,
        {200: RunView},
    ),
    Operation("POST", "/api/runs", routes.create_run, "Start a run", "operator", StartRunRequest, {202: RunAccepted}),
    Operation(
        "GET",
        "/api/runs",
        routes.list_runs,
        "List runs, newest first",
        "viewer",
        responses={200: RunList},
        query=(
            ("status", "string", "only runs with this status"),
            ("limit", "integer", "1 to 200"),
            ("cursor", "string", "next_cursor of the previous page"),
        ),
    ),
    Operation(
        "GET",
        "/api/runs/{run_id}",
        routes.get_run,
        "A run with its steps, turns and approvals",
        "viewer",
        responses={200: RunView},
    ),
    Operation(
        "GET",
        "/api/runs/{run_id}/events",
        routes.run_events,
        "The run's events as Server-Sent Events",
        "viewer",
        responses={200: "Server-Sent Events; resume with Last-Event-ID"},
        query=(("after", "integer", "resume after this event number"),),
    ),
    Operation(
        "POST", "/api/runs/{run_id}/cancel", routes.cancel_run, "Cancel a run", "operator", responses={202: RunAccepted}
    ),
    Operation(
        "POST",
        "/api/runs/{run_id}/approvals",
        routes.decide_approval,
        "Approve or reject a pending step",
        "approver",
        ApprovalDecision,
        {200: RunView},
    ),
    Operation(
        "GET",
        "/api/tools",
        routes.list_tools,
        "Every tool of every MCP server",
        "viewer",
        responses={200: ToolList},
        query=(("refresh", "boolean", "reload the catalog now"),),
    ),
    Operation(
        "GET",
        "/api/health",
        routes.health,
        "The agent core and each MCP server",
        "viewer",
        responses={200: HealthReport},
    ),
    Operation(
        "GET",
        "/api/workflows/templates",
        routes.templates,
        "Built-in workflow templates",
        "viewer",
        responses={200: TemplateList},
    ),
    Operation(
        "POST",
        "/api/workflows/validate",
        routes.validate,
        "Check a workflow without running it",
        "viewer",
        ValidateWorkflowRequest,
        {200: ValidationReport},
    ),
]
# First match wins (dict order): the specific store errors before StoreError itself.
_KNOWN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    RunNotFound: (404, "not_found"),
    ConflictError: (409, "conflict"),
    GoneError: (410, "gone"),
    DrainingError: (503, "shutting_down"),
    InvalidCursor: (400, "invalid_request"),
    StoreError: (503, "store_unavailable"),
}


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Pure ASGI middleware: the headers every response carries (the dashboard's strict CSP among them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def dashboard_routes(settings: AgentCoreSettings) -> list[Mount]:
    if settings.dashboard_dir is None:
        return []
    if not (settings.dashboard_dir / "index.html").is_file():
        raise ConfigurationError(f"AGENTIC_DASHBOARD_DIR: no index.html in {settings.dashboard_dir}")
    # Last in the route list: /api, the probes and /metrics match first, as behind the ALB.
    return [Mount("/", app=StaticFiles(directory=settings.dashboard_dir, html=True), name="dashboard")]


def default_replica_id() -> str:
    """The pod's name in the cluster (its host name), plus the process id for several on one machine."""
    return f"{socket.gethostname()}-{os.getpid()}"


def create_app(settings: AgentCoreSettings) -> Starlette:
    """Build the agent core; raises ``ConfigurationError`` naming the variable when settings are unusable."""
    try:
        servers = parse_mcp_servers(settings.mcp_servers)
    except ValueError as exc:
        raise ConfigurationError(f"AGENTIC_MCP_SERVERS: {exc}") from None
    try:
        reasoner = create_reasoner(
            settings.reasoner_kind(),
            bedrock_model_id=settings.bedrock_model_id,
            openai_base_url=settings.openai_base_url,
            openai_model=settings.openai_model,
            openai_api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
            local_model_ports=settings.local_model_ports,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    try:
        store = open_store(settings.state)
    except ValueError as exc:
        raise ConfigurationError(f"AGENTIC_STATE: {exc}") from None
    api_keys = ApiKeys.load(settings.api_keys_file, settings.api_keys.get_secret_value() if settings.api_keys else None)
    metrics = AgentCoreMetrics()
    gateway = McpGateway(
        servers,
        token=settings.mcp_token.get_secret_value() if settings.mcp_token else None,
        catalog_ttl_seconds=settings.catalog_ttl_seconds,
        call_timeout_seconds=settings.tool_timeout_seconds,
        failure_threshold=settings.breaker_failures,
        reset_timeout_seconds=settings.breaker_reset_seconds,
    )
    service = RunService(
        store=store,
        gateway=gateway,
        reasoner=reasoner,
        policy=ApprovalPolicy(
            require=frozenset(settings.require_approval),
            auto_approve=frozenset(settings.auto_approve),
            ttl_seconds=settings.approval_ttl_seconds,
        ),
        limits=RunLimits(
            budget=Budget(max_turns=settings.max_turns, max_tokens=settings.max_run_tokens),
            tool_timeout_seconds=settings.tool_timeout_seconds,
            max_result_bytes=settings.max_result_bytes,
            max_resumes=settings.max_resumes,
        ),
        metrics=metrics,
        lease=LeaseTerms(owner=settings.replica_id or default_replica_id(), seconds=settings.lease_seconds),
        recovery_interval_seconds=settings.recovery_interval_seconds,
    )
    openapi = openapi_document(OPERATIONS, title="Agentic Workflows Platform API", version=VERSION)

    async def health(_: Request) -> Response:
        return PlainTextResponse("OK")

    async def ready(_: Request) -> Response:
        if service.draining:
            return JSONResponse({"status": "not ready", "checks": {"runs": "shutting down"}}, status_code=503)
        try:
            await store.check()
        except StoreError as exc:
            return JSONResponse({"status": "not ready", "checks": {"store": str(exc)}}, status_code=503)
        return JSONResponse({"status": "ready", "checks": {"store": "ok"}})

    async def metrics_text(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def openapi_json(_: Request) -> Response:
        return JSONResponse(openapi)

    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def request_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RunRequestError)
        return ApiError(
            400, "invalid_workflow", f"{len(exc.problems)} problem(s) in the workflow", list(exc.problems)
        ).response()

    async def known_error(_: Request, exc: Exception) -> Response:
        status, error = next(value for kind, value in _KNOWN_ERRORS.items() if isinstance(exc, kind))
        message = "no run with this id" if isinstance(exc, RunNotFound) else str(exc)
        return ApiError(status, error, message).response()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Runs whose replica died are resumed from here on; a store that is down now is retried.
        service.start_recovery()
        try:
            yield
        finally:
            await service.shutdown(settings.drain_seconds)
            await gateway.aclose()
            await reasoner.aclose()
            await store.close()

    app = Starlette(
        routes=[
            *(Route(op.path, op.handler, methods=[op.method]) for op in OPERATIONS),
            Route("/api/openapi.json", openapi_json, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics_text, methods=["GET"]),
            *dashboard_routes(settings),
        ],
        exception_handlers={
            ApiError: api_error,
            RunRequestError: request_error,
            **dict.fromkeys(_KNOWN_ERRORS, known_error),
        },
        lifespan=lifespan,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        max_age=600,
    )
    app.add_middleware(JsonBodyLimit, max_body_size=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ObserveRequests, observe=metrics.observe_request)
    app.state.runs = service
    app.state.api_keys = api_keys
    app.state.settings = settings
    return app
