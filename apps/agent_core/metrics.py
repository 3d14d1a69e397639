"""The agent core's Prometheus metrics; one registry per app so tests can run several."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import Scope

from apps.common.metrics import DURATION_BUCKETS


class AgentCoreMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "agent_core_requests",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "agent_core_request_duration_seconds",
            "HTTP request duration by route.",
            ["route"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.active_workflows = Gauge(
            "agent_core_active_workflows", "Runs executing in this process now.", registry=self.registry
        )
        self.tool_calls = Counter(
            "agent_core_tool_calls",
            "Tool calls by server, tool and outcome.",
            ["server", "tool", "outcome"],
            registry=self.registry,
        )
        self.llm_tokens = Counter(
            "agent_core_llm_tokens",
            "Model tokens by model and direction (input, output).",
            ["model", "direction"],
            registry=self.registry,
        )
        self.runs = Counter(
            "agent_core_runs", "Finished runs by kind and final status.", ["kind", "status"], registry=self.registry
        )

    def observe_request(self, scope: Scope, status: int, seconds: float) -> None:
        # The route template, never the raw path: run ids must not become label values.
        route = getattr(scope.get("route"), "path", "other")
        self.requests.labels(method=scope["method"], route=route, status=str(status)).inc()
        self.request_duration.labels(route=route).observe(seconds)
