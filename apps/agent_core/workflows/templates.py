"""The built-in workflows listed at ``GET /api/workflows/templates``: starting points to run or copy.

Each is written against the platform's own servers (aws, database, custom, kubernetes) and is checked
against their real tool schemas by the tests, so a renamed argument or result field breaks a test,
not a user's run.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from apps.agent_core.workflows.document import WorkflowDocument

__all__ = ["WorkflowTemplate", "get_template", "list_templates"]


class WorkflowTemplate(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    """The document's name."""
    title: str
    description: str
    workflow: WorkflowDocument


# Orders that brought no money in do not count as revenue.
_PAID = "o.status NOT IN ('cancelled', 'refunded')"

_S3_INVENTORY: dict[str, Any] = {
    "name": "s3_inventory",
    "description": "List the account's S3 buckets and summarise them.",
    "steps": [
        {
            "id": "buckets",
            "tool": "aws.list_s3_buckets",
            "arguments": {"max_buckets": 1000},
            "retry": {"attempts": 3, "backoff_seconds": 1},
            "timeout_seconds": 60,
        }
    ],
    "analyze": {
        "instruction": (
            "Summarise this S3 inventory: how many buckets, how many per region, the oldest and newest, and any "
            "naming patterns (environments, teams, logs or backups). Say so if the list was truncated."
        )
    },
}

_DATABASE_REPORT: dict[str, Any] = {
    "name": "database_report",
    "description": "Schema and sales figures of the sample shop database, then a short report.",
    "steps": [
        {
            "parallel": [
                {"id": "schema", "tool": "database.get_schema"},
                {
                    "id": "orders_by_status",
                    "tool": "database.execute_query",
                    "arguments": {
                        "sql": (
                            "SELECT status, COUNT(*) AS orders, SUM(total_cents) AS total_cents "
                            "FROM orders GROUP BY status ORDER BY orders DESC"
                        )
                    },
                },
                {
                    "id": "top_products",
                    "tool": "database.execute_query",
                    "arguments": {
                        "sql": (
                            "SELECT p.id, p.name, p.category, SUM(oi.quantity) AS units, "
                            "SUM(oi.quantity * oi.unit_price_cents) AS revenue_cents "
                            "FROM order_items oi JOIN products p ON p.id = oi.product_id "
                            f"JOIN orders o ON o.id = oi.order_id WHERE {_PAID} "
                            "GROUP BY p.id ORDER BY revenue_cents DESC LIMIT ?"
                        ),
                        "params": [10],
                    },
                },
                {
                    "id": "customers_by_country",
                    "tool": "database.execute_query",
                    "arguments": {
                        "sql": (
                            "SELECT c.country, COUNT(DISTINCT c.id) AS customers, COUNT(o.id) AS orders, "
                            "COALESCE(SUM(o.total_cents), 0) AS revenue_cents "
                            f"FROM customers c LEFT JOIN orders o ON o.customer_id = c.id AND {_PAID} "
                            "GROUP BY c.country ORDER BY revenue_cents DESC"
                        )
                    },
                },
                {
                    "id": "revenue_by_month",
                    "tool": "database.execute_query",
                    "arguments": {
                        "sql": (
                            "SELECT substr(o.ordered_at, 1, 7) AS month, COUNT(*) AS orders, "
                            f"SUM(o.total_cents) AS revenue_cents FROM orders o WHERE {_PAID} "
                            "GROUP BY month ORDER BY month"
                        )
                    },
                },
            ]
        }
    ],
    "analyze": {
        "instruction": (
            "Write a short sales report from these query results: order statuses, the best-selling products, the "
            "strongest countries and the monthly revenue trend. Money is in integer cents; show it in currency units."
        )
    },
}

# kubectl's STATUS column for a pod that is fine; anything else (CrashLoopBackOff, ImagePullBackOff, Pending,
# Error, OOMKilled, Evicted…) is worth a look.
_FAILING_POD = "steps.pods.result.pods[?!contains(['Running', 'Succeeded', 'Completed'], status)] | [0]"

_CLUSTER_HEALTH: dict[str, Any] = {
    "name": "cluster_health",
    "description": "Cluster status and pods, a diagnosis of the first failing pod, and a health summary.",
    "steps": [
        {
            "parallel": [
                {"id": "status", "tool": "kubernetes.get_cluster_status", "timeout_seconds": 90},
                {"id": "pods", "tool": "kubernetes.list_pods", "arguments": {"limit": 500}},
            ]
        },
        {
            "id": "failing_pod",
            "tool": "kubernetes.troubleshoot_pod",
            "when": _FAILING_POD,
            "arguments": {
                "namespace": "{{ " + _FAILING_POD + ".namespace }}",
                "name": "{{ " + _FAILING_POD + ".name }}",
            },
            # The summary is still worth having when the diagnosis cannot be read.
            "on_error": "continue",
        },
    ],
    "analyze": {
        "instruction": (
            "Assess this cluster's health: nodes and readiness, pods by phase, deployments short of replicas and "
            "recent warnings. If a failing pod was diagnosed, explain the likely cause and the next steps. "
            "Be brief and concrete."
        )
    },
}

_WEATHER_KEY = "weather/{{ inputs.location }}"
# store_data only creates; overwriting an earlier run's value is replace_data, which a person approves.
_WEATHER_TO_STORE: dict[str, Any] = {
    "name": "weather_to_store",
    "description": (
        "Fetch the weather for a place and store it in the key/value store under weather/<location>. "
        "Replacing a value an earlier run stored asks for approval."
    ),
    "inputs": {"location": "London"},
    "steps": [
        {
            "id": "weather",
            "tool": "custom.get_weather",
            "arguments": {"location": "{{ inputs.location }}"},
            "retry": {"attempts": 2, "backoff_seconds": 1},
        },
        {"id": "existing", "tool": "custom.get_data", "arguments": {"key": _WEATHER_KEY}},
        {
            "id": "store",
            "tool": "custom.store_data",
            "when": "!(steps.existing.result.found)",
            "arguments": {"key": _WEATHER_KEY, "value": "{{ steps.weather.result }}", "ttl_seconds": 86400},
        },
        {
            "id": "replace",
            "tool": "custom.replace_data",
            "when": "steps.existing.result.found",
            "arguments": {"key": _WEATHER_KEY, "value": "{{ steps.weather.result }}", "ttl_seconds": 86400},
        },
    ],
}

_TEMPLATES = (
    WorkflowTemplate(
        id="s3_inventory",
        title="S3 inventory with analysis",
        description="Lists every S3 bucket in the account and has the model summarise them by region, age and name.",
        workflow=WorkflowDocument.model_validate(_S3_INVENTORY),
    ),
    WorkflowTemplate(
        id="database_report",
        title="Database sales report",
        description=(
            "Reads the shop database's schema and runs four aggregate queries at once (orders by status, top "
            "products by revenue, customers by country, revenue by month), then writes a report."
        ),
        workflow=WorkflowDocument.model_validate(_DATABASE_REPORT),
    ),
    WorkflowTemplate(
        id="cluster_health",
        title="Kubernetes cluster health check",
        description=(
            "Reads the cluster status and pods, troubleshoots the first pod that is not running (if any), and "
            "summarises the cluster's health."
        ),
        workflow=WorkflowDocument.model_validate(_CLUSTER_HEALTH),
    ),
    WorkflowTemplate(
        id="weather_to_store",
        title="Weather into the key/value store",
        description=(
            "Fetches current weather and a 3-day forecast for the input location (default London) and stores it "
            "under weather/<location>; replacing the value an earlier run stored there needs approval. The location "
            "becomes part of the key, so use letters, digits, . _ - only."
        ),
        workflow=WorkflowDocument.model_validate(_WEATHER_TO_STORE),
    ),
)


def list_templates() -> list[WorkflowTemplate]:
    return list(_TEMPLATES)


def get_template(template_id: str) -> WorkflowTemplate | None:
    return next((template for template in _TEMPLATES if template.id == template_id), None)
