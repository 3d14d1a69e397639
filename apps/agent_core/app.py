"""``create_app(settings)``: the agent core as one Starlette app, wired from its settings."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from apps.agent_core.a2a.app import a2a_endpoint
from apps.agent_core.api.http import EXCEPTION_HANDLERS
from apps.agent_core.api.middleware import JsonBodyLimit, SecurityHeaders
from apps.agent_core.api.openapi import openapi_document
from apps.agent_core.api.table import API_ROUTES
from apps.agent_core.auth import ApiKeys
from apps.agent_core.gateway.gateway import McpGateway
from apps.agent_core.gateway.servers_file import configured_servers
from apps.agent_core.mcp_endpoint import PATH as MCP_PATH
from apps.agent_core.mcp_endpoint import CallLimits, McpEndpoint
from apps.agent_core.metrics import AgentCoreMetrics
from apps.agent_core.reasoning.base import Budget
from apps.agent_core.reasoning.factory import create_reasoner
from apps.agent_core.reasoning.local_model import LocalModelProbe
from apps.agent_core.runs.approvals import ApprovalPolicy
from apps.agent_core.runs.lease import LeaseTerms
from apps.agent_core.runs.service import RunLimits, RunService
from apps.agent_core.settings import AgentCoreSettings
from apps.agent_core.store import open_store
from apps.agent_core.store.base import StoreError
from apps.agent_core.triggers.alert_intake import open_alert_intake
from apps.agent_core.triggers.notify import configured_notifications
from apps.agent_core.triggers.scheduler import open_scheduler
from apps.common.metrics import ObserveRequests
from apps.common.settings import ConfigurationError

VERSION = "1.0.0"


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
    token = settings.mcp_token.get_secret_value() if settings.mcp_token else None
    # The file may name the internal token as ${AGENTIC_MCP_TOKEN}: the one these settings hold, however read.
    environ = {**os.environ, **({"AGENTIC_MCP_TOKEN": token} if token else {})}
    servers = configured_servers(settings.listed_mcp_servers(), settings.mcp_servers_file, environ)
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
        token=token,
        catalog_ttl_seconds=settings.catalog_ttl_seconds,
        call_timeout_seconds=settings.step_timeout_seconds,
        max_call_seconds=settings.step_max_seconds,
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
            servers={name: entry.approval for name, entry in servers.items() if not isinstance(entry, str)},
        ),
        limits=RunLimits(
            budget=Budget(max_turns=settings.max_turns, max_tokens=settings.max_run_tokens),
            stored_result_bytes=settings.stored_result_bytes,
            max_resumes=settings.max_resumes,
        ),
        metrics=metrics,
        lease=LeaseTerms(owner=settings.replica_id or default_replica_id(), seconds=settings.lease_seconds),
        recovery_interval_seconds=settings.recovery_interval_seconds,
        # Only when nothing is configured: then a local model server started later is worth reporting.
        local_model=LocalModelProbe(settings.local_model_ports) if settings.reasoner_kind() == "auto" else None,
    )
    notifications = configured_notifications(
        settings.notify.get_secret_value() if settings.notify else None,
        settings.dashboard_url,
        store,
        service.notifier,
        os.environ,
    )
    scheduler = open_scheduler(settings.state, service)
    alert_intake = open_alert_intake(settings.triggers_file, service, notifications.sinks.names())
    mcp_endpoint = McpEndpoint(
        service,
        CallLimits(
            run_seconds=settings.mcp_run_wait_seconds,
            approval_seconds=settings.mcp_approval_wait_seconds,
            dashboard_url=settings.dashboard_url,
        ),
        VERSION,
    )
    a2a = a2a_endpoint(service, version=VERSION, dashboard_url=settings.dashboard_url)
    openapi = openapi_document(API_ROUTES, title="Agentic Workflows Platform API", version=VERSION)

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

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Runs whose replica died are resumed from here on; a store that is down now is retried.
        service.start_recovery()
        scheduler.start()
        try:
            async with mcp_endpoint.running():  # the SDK's session manager must run in the host app's lifespan
                yield
        finally:
            await scheduler.stop()  # first: a draining replica starts no new ticks; the others do
            await a2a.aclose()  # stops following its tasks; their runs are handed off below like any other
            await service.shutdown(settings.drain_seconds)
            await notifications.aclose()
            await gateway.aclose()
            await reasoner.aclose()
            await store.close()

    app = Starlette(
        routes=[
            *(route.route() for route in API_ROUTES),
            Route("/api/openapi.json", openapi_json, methods=["GET"]),
            *a2a.routes,
            Route(MCP_PATH, mcp_endpoint, methods=["GET", "POST", "DELETE"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics_text, methods=["GET"]),
            *dashboard_routes(settings),
        ],
        # Outermost first: the metrics count every answer and the security headers go on every response, the
        # body limit's 413s and CORS preflights included; an oversized body gets 413 before CORS or a route sees it.
        middleware=[
            Middleware(ObserveRequests, observe=metrics.observe_request),
            Middleware(SecurityHeaders),
            Middleware(JsonBodyLimit, max_body_size=settings.max_body_bytes),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                # Mcp-*: what browser MCP clients (the Inspector's web UI) send to /api/mcp.
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "Last-Event-ID",
                    "Mcp-Protocol-Version",
                    "Mcp-Session-Id",
                ],
                max_age=600,
            ),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.runs = service
    app.state.scheduler = scheduler
    app.state.alert_intake = alert_intake
    app.state.api_keys = api_keys
    app.state.settings = settings
    app.state.notifications = notifications  # .sinks.names(): what a schedule's or alert rule's notify may list
    return app
