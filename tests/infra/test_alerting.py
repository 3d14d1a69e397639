"""Alertmanager → agent core in the cluster: the generated key (a Secret in `monitoring`, its digest with the
`trigger` role in the agent core's keys file), the webhook receiver and its route, the one NetworkPolicy rule
that lets the Alertmanager pods in, and the PrometheusRule with the platform's own alerts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from apps.agent_core.auth import ApiKeys
from apps.agent_core.triggers.alertmanager import MAX_ALERTS as INTAKE_MAX_ALERTS
from infra import alerting
from infra.monitoring import ALERTMANAGER_POD_LABELS, RELEASE
from infra.offline import ProgramRun, Registration, Secret
from tests.infra.netpol import Endpoint, allowed
from tests.infra.support import HELM_RELEASE, crd_validator, k8s_object, k8s_objects_of, kubernetes_objects, run_with

APPS = "agentic"
MONITORING = "monitoring"
ALERTMANAGER = Endpoint("10.0.64.30", MONITORING, {**ALERTMANAGER_POD_LABELS, "app.kubernetes.io/instance": "x"})
PROMETHEUS = Endpoint("10.0.64.7", MONITORING, {"app.kubernetes.io/name": "prometheus"})
GRAFANA = Endpoint("10.0.64.8", MONITORING, {"app.kubernetes.io/name": "grafana"})


def _pod(name: str, namespace: str = APPS, ip: str = "10.0.0.20") -> Endpoint:
    return Endpoint(ip, namespace, {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "agentic-platform"})


AGENT = _pod("agent-core", ip="10.0.0.10")
OTHERS = [
    _pod("frontend", ip="10.0.0.11"),
    _pod("aws-mcp", ip="10.0.0.12"),
    _pod("database-mcp", ip="10.0.0.13"),
    _pod("custom-mcp", ip="10.0.0.14"),
    _pod("k8s-mcp", "k8s-admin", ip="10.0.32.15"),
]


def _release(run: ProgramRun) -> Registration:
    (release,) = [r for r in run.of_type(HELM_RELEASE) if r.inputs["name"] == RELEASE]
    return release


def _secret(run: ProgramRun, name: str, namespace: str) -> Registration:
    (secret,) = [
        r
        for r in run.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == name and r.inputs["metadata"]["namespace"] == namespace
    ]
    return secret


def _webhook(run: ProgramRun) -> dict[str, Any]:
    receivers = _release(run).inputs["values"]["alertmanager"]["config"]["receivers"]
    (receiver,) = [r for r in receivers if r["name"] == alerting.RECEIVER]
    (webhook,) = receiver["webhook_configs"]
    assert isinstance(webhook, dict)
    return webhook


def test_the_key_is_generated_and_kept_secret(update_run: ProgramRun) -> None:
    (generated,) = [
        r for r in update_run.of_type("random:index/randomPassword:RandomPassword") if "alertmanager" in r.name
    ]
    assert generated.inputs["length"] >= 43 and generated.inputs["special"] is False
    secret = _secret(update_run, alerting.SECRET_NAME, MONITORING)
    data = secret.inputs["stringData"]
    assert isinstance(data, Secret)
    key = data.value[alerting.SECRET_KEY]
    assert key == "awp_" + generated.outputs["result"]
    # Nothing else carries it in the clear: not the release's values, not the keys file, not an export.
    for resource in update_run.resources:
        if resource is generated:
            continue
        shown = json.dumps(resource.inputs, default=lambda v: "<secret>" if isinstance(v, Secret) else str(v))
        assert key not in shown and generated.outputs["result"] not in shown, resource.name
    assert all(key not in json.dumps(export.value, default=str) for export in update_run.exports.values())


def test_the_secret_exists_before_the_alertmanager_pods(program: ProgramRun) -> None:
    secret = _secret(program, alerting.SECRET_NAME, MONITORING)
    assert secret.urn in _release(program).dependencies


def test_the_agent_core_accepts_the_key_for_triggers_only(update_run: ProgramRun, tmp_path: Path) -> None:
    key = _secret(update_run, alerting.SECRET_NAME, MONITORING).inputs["stringData"].value[alerting.SECRET_KEY]
    keys_file = _secret(update_run, "agent-core-api-keys", APPS).inputs["stringData"].value["keys.json"]
    assert key not in keys_file
    entries = {entry["name"]: entry for entry in json.loads(keys_file)}
    assert entries["alertmanager"] == {
        "name": "alertmanager",
        "roles": ["trigger"],
        "sha256": hashlib.sha256(key.encode()).hexdigest(),
    }
    path = tmp_path / "keys.json"
    path.write_text(keys_file)
    keys = ApiKeys.load(path, None)
    principal = keys.authenticate(f"Bearer {key}")
    assert principal is not None and principal.name == "alertmanager"
    assert principal.can("trigger")
    assert not principal.can("viewer") and not principal.can("operator") and not principal.can("approver")
    operator = keys.authenticate(f"Bearer {update_run.exports['apiKey'].value}")
    assert operator is not None and not operator.can("trigger")


def test_the_webhook_posts_to_the_agent_cores_trigger_endpoint(program: ProgramRun) -> None:
    agent_core = k8s_object(program, "Service", "agent-core-service", APPS)
    assert agent_core["spec"]["ports"][0]["port"] == 80
    assert _webhook(program) == {
        "url": "http://agent-core-service.agentic.svc.cluster.local/api/triggers/alertmanager",
        "send_resolved": True,
        "http_config": {"authorization": {"type": "Bearer", "credentials_file": alerting.CREDENTIALS_FILE}},
        "max_alerts": alerting.MAX_ALERTS,
    }


def test_a_notification_never_exceeds_what_the_agent_core_accepts() -> None:
    assert 0 < alerting.MAX_ALERTS <= INTAKE_MAX_ALERTS


def test_the_webhook_follows_the_apps_namespace() -> None:
    run = run_with({"appsNamespace": "platform"})
    assert run.error is None
    assert _webhook(run)["url"] == "http://agent-core-service.platform.svc.cluster.local/api/triggers/alertmanager"


def test_the_route_sends_one_alert_per_notification(program: ProgramRun) -> None:
    routes = _release(program).inputs["values"]["alertmanager"]["config"]["route"]["routes"]
    (route,) = [r for r in routes if r["receiver"] == alerting.RECEIVER]
    assert route["group_by"] == ["..."]
    (matcher,) = route["matchers"]
    for name in ("KubePodCrashLooping", "KubePodNotReady", "KubeDeploymentReplicasMismatch", "McpServerDown"):
        assert name in matcher


@pytest.fixture(scope="module")
def policies(update_run: ProgramRun) -> list[dict[str, Any]]:
    return k8s_objects_of(update_run, "NetworkPolicy")


def test_alertmanager_reaches_the_agent_cores_api_port_only(policies: list[dict[str, Any]]) -> None:
    assert allowed(policies, ALERTMANAGER, AGENT, 8000)
    assert not allowed(policies, ALERTMANAGER, AGENT, 9000)
    for other in OTHERS:
        assert not allowed(policies, ALERTMANAGER, other, 8000), other.labels
        assert not allowed(policies, ALERTMANAGER, other, 8080), other.labels


def test_only_alertmanager_pods_of_this_release_in_monitoring(policies: list[dict[str, Any]]) -> None:
    impostor = Endpoint("10.0.64.31", "default", dict(ALERTMANAGER.labels))  # the right labels, wrong namespace
    another = Endpoint("10.0.64.32", MONITORING, {"app.kubernetes.io/name": "alertmanager", "alertmanager": "other"})
    for source in (impostor, another, GRAFANA):
        assert not allowed(policies, source, AGENT, 8000), source
    assert allowed(policies, PROMETHEUS, AGENT, 8000)  # scraping, as before


def test_the_only_new_rule_is_alertmanager_into_the_agent_core(policies: list[dict[str, Any]]) -> None:
    mentions = [
        (policy["metadata"]["name"], direction)
        for policy in policies
        for direction in ("ingress", "egress")
        for rule in policy["spec"].get(direction, [])
        if "alertmanager" in json.dumps(rule)
    ]
    assert mentions == [("agent-core", "ingress")]
    (policy,) = [p for p in policies if p["metadata"]["name"] == "agent-core"]
    (rule,) = [r for r in policy["spec"]["ingress"] if "alertmanager" in json.dumps(r)]
    assert rule == {
        "from": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING}},
                "podSelector": {
                    "matchLabels": {
                        "app.kubernetes.io/name": "alertmanager",
                        "alertmanager": "kube-prometheus-stack-alertmanager",
                    }
                },
            }
        ],
        "ports": [{"protocol": "TCP", "port": 8000}],
    }


def test_the_prometheus_rule_is_the_checked_file(program: ProgramRun) -> None:
    rule = k8s_object(program, "PrometheusRule", "agentic-platform", MONITORING)
    errors = [f"{list(e.path)}: {e.message}" for e in crd_validator("prometheusrule-v1.json").iter_errors(rule)]
    assert errors == []
    assert rule["spec"]["groups"] == alerting.platform_rule_groups()
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"AgentCoreHighErrorRate", "AgentCoreHighLatency", "McpServerDown", "RunsStuckAwaitingApproval"} <= alerts
    (resource,) = [r for r in kubernetes_objects(program) if r.inputs.get("kind") == "PrometheusRule"]
    assert _release(program).urn in resource.dependencies  # the CRD comes with the chart


def test_the_schema_rejects_a_misspelt_rule(program: ProgramRun) -> None:
    rule = k8s_object(program, "PrometheusRule", "agentic-platform", MONITORING)
    rule["spec"]["groups"][0]["rules"][0]["fro"] = rule["spec"]["groups"][0]["rules"][0].pop("for")
    assert list(crd_validator("prometheusrule-v1.json").iter_errors(rule))
