"""The agent core's Prometheus metrics; one registry per app so tests can run several."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager

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
        # Waits for a person's decision in this process: when each began (monotonic), by a private token.
        self._approval_waits: dict[int, float] = {}
        self._wait_tokens = itertools.count()
        Gauge(
            "agent_core_runs_awaiting_approval",
            "Runs in this process waiting for a person's approval now.",
            registry=self.registry,
        ).set_function(lambda: len(self._approval_waits))
        # What the alert on stuck runs needs (infra/alerts/platform-rules.yaml): a count cannot tell one
        # run waiting an hour from many runs each decided within a minute.
        Gauge(
            "agent_core_approval_oldest_wait_seconds",
            "How long the longest current wait for approval in this process has lasted (0: none waits).",
            registry=self.registry,
        ).set_function(self._oldest_wait)

    @contextmanager
    def awaiting_approval(self) -> Iterator[None]:
        """Count a run as waiting for approval while the block runs (on a resumed run, from its resumption)."""
        token = next(self._wait_tokens)
        self._approval_waits[token] = time.monotonic()
        try:
            yield
        finally:
            del self._approval_waits[token]

    def _oldest_wait(self) -> float:
        started = min(self._approval_waits.values(), default=None)
        return 0.0 if started is None else time.monotonic() - started

    def observe_request(self, scope: Scope, status: int, seconds: float) -> None:
        # The route template, never the raw path: run ids must not become label values.
        route = getattr(scope.get("route"), "path", "other")
        self.requests.labels(method=scope["method"], route=route, status=str(status)).inc()
        self.request_duration.labels(route=route).observe(seconds)
