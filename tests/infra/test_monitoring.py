"""Monitoring: pinned charts, predictable ServiceMonitor selection, volumes, and a generated Grafana password
that never appears as a literal."""

from __future__ import annotations

from typing import Any

import pytest

from infra.charts import KUBE_PROMETHEUS_STACK, METRICS_SERVER
from infra.ingress import SSL_POLICY
from infra.offline import UNKNOWN, ProgramRun, Registration, Secret
from tests.infra.support import manifest, run_with, validate_manifest


def _object(run: ProgramRun, type_: str, name: str) -> Registration:
    (resource,) = [r for r in run.of_type(type_) if r.inputs["metadata"]["name"] == name]
    return resource


def _grafana_password(run: ProgramRun) -> Registration:
    (password,) = [r for r in run.of_type("random:index/randomPassword:RandomPassword") if "grafana" in r.name]
    return password


def _release(run: ProgramRun, name: str) -> Registration:
    (release,) = [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == name]
    return release


def test_metrics_server(program: ProgramRun) -> None:
    release = _release(program, "metrics-server")
    assert (release.inputs["chart"], release.inputs["version"]) == (METRICS_SERVER.chart, METRICS_SERVER.version)
    assert release.inputs["namespace"] == "kube-system"


def test_kube_prometheus_stack_values(program: ProgramRun) -> None:
    release = _release(program, "kube-prometheus-stack")  # fixed name: object names and selectors derive from it
    assert release.inputs["version"] == KUBE_PROMETHEUS_STACK.version
    assert release.inputs["namespace"] == "monitoring"
    prometheus = release.inputs["values"]["prometheus"]["prometheusSpec"]
    assert prometheus["retention"] == "7d"
    claim = prometheus["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3"
    assert claim["resources"]["requests"]["storage"] == "10Gi"
    for kind in ("serviceMonitor", "podMonitor", "rule"):
        assert prometheus[f"{kind}SelectorNilUsesHelmValues"] is False
    grafana = release.inputs["values"]["grafana"]
    assert grafana["persistence"]["enabled"] is True
    assert (grafana["persistence"]["storageClassName"], grafana["persistence"]["size"]) == ("gp3", "5Gi")
    assert grafana["admin"] == {
        "existingSecret": "grafana-admin",
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    assert "adminPassword" not in grafana


def test_grafana_admin_secret(program: ProgramRun, dev_config: dict[str, str]) -> None:
    secret = _object(program, "kubernetes:core/v1:Secret", "grafana-admin")
    namespace = _object(program, "kubernetes:core/v1:Namespace", "monitoring")
    version = dev_config["agentic-platform:kubernetesVersion"]
    validate_manifest(manifest(namespace), version)
    assert secret.inputs["metadata"] == {"name": "grafana-admin", "namespace": "monitoring"}
    assert isinstance(secret.inputs["stringData"], Secret)
    if not program.preview:
        validate_manifest(manifest(secret), version)
        password = _grafana_password(program)
        assert secret.inputs["stringData"].value["admin-password"] == password.outputs["result"]
    assert secret.urn in _release(program, "kube-prometheus-stack").dependencies


def _literals(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string reachable without passing through a secret marker."""
    if isinstance(value, Secret):
        return []
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _literals(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _literals(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) else []


def test_no_literal_secret_anywhere(update_run: ProgramRun) -> None:
    password = _grafana_password(update_run)
    generated = password.outputs["result"]
    for resource in update_run.resources:
        if resource is password:
            continue
        leaks = [path for path, text in _literals(resource.inputs) if generated in text]
        assert not leaks, f"{resource.name} carries the password in the clear at {leaks}"
    exported = update_run.exports["grafanaAdminPassword"]
    assert exported.secret and exported.value == generated
    assert update_run.exports["kubeconfig"].secret


def test_password_is_generated(program: ProgramRun) -> None:
    password = _grafana_password(program)
    assert password.inputs["length"] >= 24
    assert program.exports["grafanaAdminPassword"].secret


def test_grafana_is_cluster_internal_by_default(program: ProgramRun) -> None:
    ingresses = program.of_type("kubernetes:networking.k8s.io/v1:Ingress")
    assert [i.inputs["metadata"]["name"] for i in ingresses] == ["agentic-ingress"]  # the platform's, not Grafana's
    # Reached through a port-forward (tests/infra/test_upstream_risks.py checks the command and the URL).
    assert program.exports["grafanaUrl"].value == "http://localhost:3000"


@pytest.mark.parametrize("preview", [True, False])
def test_grafana_behind_an_alb(preview: bool, dev_config: dict[str, str]) -> None:
    certificate = "arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    run = run_with(
        {
            "grafanaExposure": "alb",
            "grafanaAlbScheme": "internet-facing",
            "grafanaCertificateArn": certificate,
            "grafanaAllowedCidrs": '["203.0.113.0/24"]',
        },
        preview=preview,
    )
    assert run.error is None
    ingress = _object(run, "kubernetes:networking.k8s.io/v1:Ingress", "grafana")
    validate_manifest(manifest(ingress), dev_config["agentic-platform:kubernetesVersion"])
    annotations = ingress.inputs["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == certificate
    assert annotations["alb.ingress.kubernetes.io/listen-ports"] == '[{"HTTPS": 443}]'
    # The same TLS policy as the platform's own ALB: TLS 1.2 and 1.3 only.
    assert annotations["alb.ingress.kubernetes.io/ssl-policy"] == SSL_POLICY
    assert annotations["alb.ingress.kubernetes.io/inbound-cidrs"] == "203.0.113.0/24"
    backend = ingress.inputs["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "kube-prometheus-stack-grafana", "port": {"number": 80}}
    (alb,) = [
        r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "aws-load-balancer-controller"
    ]
    assert alb.urn in ingress.dependencies
    url = run.exports["grafanaUrl"]
    if preview:
        assert not url.known and url.value in (None, UNKNOWN)
    else:
        assert url.value == f"https://{ingress.outputs['status']['loadBalancer']['ingress'][0]['hostname']}"
