"""Scaling, disruption and monitoring: HPAs, the PDB, ServiceMonitors and the Grafana dashboard, whose
queries are checked against the metrics the services really export."""

from __future__ import annotations

import json
import re

from prometheus_client import CollectorRegistry

from apps.agent_core.metrics import AgentCoreMetrics
from apps.common.metrics import McpMetrics
from infra.monitoring import DASHBOARD_LABEL
from infra.offline import ProgramRun, Registration
from tests.infra.support import k8s_object, k8s_objects_of, kubernetes_objects

MCP_SERVERS = ("aws-mcp", "database-mcp", "custom-mcp", "k8s-mcp")


def _hpas(run: ProgramRun) -> dict[str, dict]:
    return {h["metadata"]["name"]: h for h in k8s_objects_of(run, "HorizontalPodAutoscaler")}


def _cpu_target(hpa: dict) -> int:
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    return int(metric["resource"]["target"]["averageUtilization"])


def test_agent_core_autoscaling(program: ProgramRun) -> None:
    hpa = _hpas(program)["agent-core"]
    spec = hpa["spec"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "agent-core"}
    assert (spec["minReplicas"], spec["maxReplicas"], _cpu_target(hpa)) == (2, 10, 80)
    assert spec["behavior"]["scaleUp"]["policies"] == [{"type": "Pods", "value": 2, "periodSeconds": 60}]
    assert spec["behavior"]["scaleDown"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 300}]


def test_mcp_server_autoscaling(program: ProgramRun) -> None:
    hpas = _hpas(program)
    assert set(hpas) == {"agent-core", *MCP_SERVERS}  # the static frontend is not autoscaled
    for name in MCP_SERVERS:
        spec = hpas[name]["spec"]
        assert (spec["minReplicas"], spec["maxReplicas"], _cpu_target(hpas[name])) == (2, 5, 70), name
        assert spec["scaleTargetRef"]["name"] == name
        assert hpas[name]["metadata"]["namespace"] == ("k8s-admin" if name == "k8s-mcp" else "agentic")


def _deployment_resources(run: ProgramRun) -> dict[str, Registration]:
    return {r.inputs["metadata"]["name"]: r for r in kubernetes_objects(run) if r.inputs["kind"] == "Deployment"}


def test_the_hpa_owns_the_replica_count(program: ProgramRun) -> None:
    """`pulumi up` must not reset what the HPA scaled to: every autoscaled Deployment ignores spec.replicas."""
    deployments = _deployment_resources(program)
    for name in _hpas(program):
        assert deployments[name].ignore_changes == ("spec.replicas",), name
    assert deployments["frontend"].ignore_changes == ()


def test_a_disruption_budget_per_service(program: ProgramRun) -> None:
    """One eviction at a time (tests/infra/test_upstream_risks.py checks each lets a drain through)."""
    budgets = {b["metadata"]["name"]: b for b in k8s_objects_of(program, "PodDisruptionBudget")}
    assert set(budgets) == {"agent-core", "frontend", *MCP_SERVERS}
    for name, budget in budgets.items():
        assert budget["spec"]["maxUnavailable"] == 1
        assert budget["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == name


def test_a_service_monitor_per_service_with_metrics(program: ProgramRun) -> None:
    monitors = {m["metadata"]["name"]: m for m in k8s_objects_of(program, "ServiceMonitor")}
    assert set(monitors) == {"agent-core", *MCP_SERVERS}
    services = {s["metadata"]["name"]: s for s in k8s_objects_of(program, "Service")}
    for name, monitor in monitors.items():
        (endpoint,) = monitor["spec"]["endpoints"]
        assert (endpoint["port"], endpoint["path"], endpoint["interval"]) == ("http", "/metrics", "30s")
        (service,) = [
            s
            for s in services.values()
            if s["metadata"]["namespace"] == monitor["metadata"]["namespace"]
            and monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        ]
        assert service["spec"]["selector"]["app.kubernetes.io/name"] == name
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}


def test_service_monitors_wait_for_the_prometheus_operator(program: ProgramRun) -> None:
    (stack,) = [
        r for r in program.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "kube-prometheus-stack"
    ]
    for resource in kubernetes_objects(program):
        if resource.inputs["kind"] == "ServiceMonitor":
            assert stack.urn in resource.dependencies


def _exported_metric_names() -> set[str]:
    """The series names each registry exposes (prometheus_client adds _total, _bucket, _sum, _count)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    registries: list[CollectorRegistry] = [AgentCoreMetrics().registry, McpMetrics("test").registry]
    return {
        family.name + suffix
        for registry in registries
        for family in registry.collect()
        for suffix in suffixes.get(family.type, ("",))
    }


_METRIC = re.compile(r"\b([a-z_][a-z0-9_]*)(?=\{|\[)")


def test_dashboard_queries_use_metrics_the_services_export(program: ProgramRun) -> None:
    config_map = k8s_object(program, "ConfigMap", "agentic-platform-dashboard", "monitoring")
    assert DASHBOARD_LABEL.items() <= config_map["metadata"]["labels"].items()
    (document,) = config_map["data"].values()
    dashboard = json.loads(document)
    titles = [panel["title"] for panel in dashboard["panels"]]
    for wanted in ("request rate", "latency", "active workflows", "tool calls by outcome", "tokens"):
        assert any(wanted in title.lower() for title in titles), wanted
    exported = _exported_metric_names()
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used.update(_METRIC.findall(target["expr"]))
            used.update(
                name for name in re.findall(r"\(([a-z_]+)\)", target["expr"]) if name.startswith(("agent_", "mcp_"))
            )
    used = {name for name in used if name.startswith(("agent_core_", "mcp_"))}
    assert used, "no metric found in the queries"
    assert used <= exported, used - exported
    for name in (
        "agent_core_requests_total",
        "agent_core_active_workflows",
        "mcp_tool_calls_total",
        "agent_core_llm_tokens_total",
    ):
        assert name in used


def test_grafana_sidecar_watches_the_dashboard_label(program: ProgramRun) -> None:
    (stack,) = [
        r for r in program.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "kube-prometheus-stack"
    ]
    sidecar = stack.inputs["values"]["grafana"]["sidecar"]["dashboards"]
    assert sidecar["enabled"] is True
    assert {sidecar["label"]: sidecar["labelValue"]} == DASHBOARD_LABEL
