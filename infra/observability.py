"""ServiceMonitors for the services that serve /metrics, and the platform's Grafana dashboard.

kube-prometheus-stack (infra/monitoring.py) selects every ServiceMonitor in every namespace, and its Grafana
sidecar loads every ConfigMap in `monitoring` labelled `grafana_dashboard: "1"`. The metric names are
the services' own (apps/agent_core/metrics.py, apps/common/metrics.py; prometheus_client adds `_total`
to counters); tests/infra check each query against those registries.
"""

from __future__ import annotations

import json
from typing import Any

from infra.monitoring import DASHBOARD_LABEL
from infra.monitoring import NAMESPACE as MONITORING_NAMESPACE
from infra.workloads import PART_OF, Workload

__all__ = ["DASHBOARD_UID", "PANELS", "dashboard", "dashboard_config_map", "service_monitor"]

SCRAPE_INTERVAL = "30s"
DASHBOARD_UID = "agentic-platform"
_RATE = "[$__rate_interval]"

# (title, unit, [(PromQL, legend)]) per panel.
PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "API request rate",
        "reqps",
        [(f"sum by (route, status) (rate(agent_core_requests_total{_RATE}))", "{{route}} {{status}}")],
    ),
    (
        "API latency (p50, p95)",
        "s",
        [
            (
                f"histogram_quantile({q}, sum by (le) (rate(agent_core_request_duration_seconds_bucket{_RATE})))",
                f"p{int(q * 100)}",
            )
            for q in (0.5, 0.95)
        ],
    ),
    ("Active workflows", "short", [("sum(agent_core_active_workflows)", "running")]),
    (
        "Tool calls by outcome",
        "ops",
        [(f"sum by (server, outcome) (rate(mcp_tool_calls_total{_RATE}))", "{{server}} {{outcome}}")],
    ),
    (
        "Tool call latency (p95)",
        "s",
        [
            (
                f"histogram_quantile(0.95, sum by (le, server) (rate(mcp_tool_call_duration_seconds_bucket{_RATE})))",
                "{{server}}",
            )
        ],
    ),
    (
        "Model tokens",
        "short",
        [(f"sum by (model, direction) (increase(agent_core_llm_tokens_total{_RATE}))", "{{model}} {{direction}}")],
    ),
    ("Runs finished by status", "short", [(f"sum by (status) (increase(agent_core_runs_total{_RATE}))", "{{status}}")]),
    (
        "MCP requests by status",
        "reqps",
        [(f'sum by (status) (rate(mcp_http_requests_total{{path="/mcp"}}{_RATE}))', "{{status}}")],
    ),
]


def service_monitor(workload: Workload) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {
            "name": workload.name,
            "namespace": workload.namespace,
            "labels": {"app.kubernetes.io/name": workload.name, "app.kubernetes.io/part-of": PART_OF},
        },
        "spec": {
            "selector": {"matchLabels": workload.selector},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": SCRAPE_INTERVAL, "scrapeTimeout": "10s"}],
        },
    }


def dashboard() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model: two panels a row, a datasource picker, the last hour."""
    panels = []
    for index, (title, unit, queries) in enumerate(PANELS):
        panels.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {
                        "refId": chr(ord("A") + n),
                        "datasource": {"type": "prometheus", "uid": "${datasource}"},
                        "expr": expr,
                        "legendFormat": legend,
                    }
                    for n, (expr, legend) in enumerate(queries)
                ],
            }
        )
    return {
        "uid": DASHBOARD_UID,
        "title": "Agentic Workflows Platform",
        "tags": [PART_OF],
        "timezone": "browser",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"}]
        },
        "panels": panels,
    }


def dashboard_config_map() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "agentic-platform-dashboard",
            "namespace": MONITORING_NAMESPACE,
            "labels": {**DASHBOARD_LABEL, "app.kubernetes.io/part-of": PART_OF},
        },
        "data": {"agentic-platform.json": json.dumps(dashboard(), indent=2, sort_keys=True)},
    }
