"""Prometheus metrics: one registry per app, so several apps in one process (tests) never collide."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MCP_SERVER_PATHS = frozenset({"/mcp", "/health", "/ready", "/metrics"})
# Tool calls range from sub-millisecond lookups to minute-long model invocations.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


RequestObserver = Callable[[Scope, int, float], None]
"""Called after every HTTP request with its ASGI scope (routing already applied), status and seconds."""


class ObserveRequests:
    """Pure ASGI middleware that reports every HTTP request to ``observe`` once it has been answered."""

    def __init__(self, app: ASGIApp, observe: RequestObserver) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.observe(scope, status, time.perf_counter() - started)


class McpMetrics:
    """The counters every MCP server exports, labelled with the server's name."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.registry = CollectorRegistry(auto_describe=True)
        self.tool_calls = Counter(
            "mcp_tool_calls",
            "Tool calls by server, tool and outcome.",
            ["server", "tool", "outcome"],
            registry=self.registry,
        )
        self.tool_duration = Histogram(
            "mcp_tool_call_duration_seconds",
            "Tool call duration, from the arguments arriving to the result leaving.",
            ["server", "tool"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self._tool_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self.http_requests = Counter(
            "mcp_http_requests",
            "HTTP requests by method, path and status.",
            ["method", "path", "status"],
            registry=self.registry,
        )

    def observe_request(self, scope: Scope, status: int, _seconds: float) -> None:
        # Only known paths become label values: a scanner probing random URLs must not grow the series.
        path = scope["path"] if scope["path"] in MCP_SERVER_PATHS else "other"
        self.http_requests.labels(method=scope["method"], path=path, status=str(status)).inc()

    def record_tool_call(self, tool: str, outcome: str, started: float) -> float:
        """Count one call and return its duration in seconds."""
        duration = time.perf_counter() - started
        # The children are looked up once per (tool, outcome): labels() validates its arguments and takes a
        # lock on every call. Both label sets are bounded (the guard maps unknown names to one).
        children = self._tool_children.get((tool, outcome))
        if children is None:
            children = (
                self.tool_calls.labels(server=self.server, tool=tool, outcome=outcome),
                self.tool_duration.labels(server=self.server, tool=tool),
            )
            self._tool_children[(tool, outcome)] = children
        calls, durations = children
        calls.inc()
        durations.observe(duration)
        return duration


def metrics_endpoint(registry: CollectorRegistry):  # type: ignore[no-untyped-def]
    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
