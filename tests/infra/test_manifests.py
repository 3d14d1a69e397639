"""Every Kubernetes object the program registers is a valid manifest: built-in kinds against the cluster
version's OpenAPI schemas (kubernetes-validate, strict), custom resources against their CRDs' schemas, and
every pod template against the Pod Security Standards `restricted` profile."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.offline import ProgramRun
from policy.pod_security import restricted_violations
from tests.infra.support import crd_validator, k8s_objects_of, kubernetes_objects, manifest, run_with, validate_manifest

CRD_SCHEMAS = {
    "karpenter.sh/v1/NodePool": "karpenter-v1-nodepool.json",
    "karpenter.k8s.aws/v1/EC2NodeClass": "karpenter-v1-ec2nodeclass.json",
    "monitoring.coreos.com/v1/ServiceMonitor": "servicemonitor-v1.json",
    "monitoring.coreos.com/v1/PrometheusRule": "prometheusrule-v1.json",
}
BUILT_IN_GROUPS = (
    "v1",
    "apps/",
    "autoscaling/",
    "policy/",
    "networking.k8s.io/",
    "rbac.authorization.k8s.io/",
    "storage.k8s.io/",
)


def _validate(document: dict[str, Any], version: str) -> None:
    api_version = document["apiVersion"]
    if api_version == "v1" or api_version.startswith(BUILT_IN_GROUPS[1:]):
        validate_manifest(document, version)
        return
    schema = CRD_SCHEMAS[f"{api_version}/{document['kind']}"]  # a new custom kind needs its schema here
    errors = [f"{list(e.path)}: {e.message}" for e in crd_validator(schema).iter_errors(document)]
    assert errors == [], f"{document['kind']} {document['metadata'].get('name')}: {errors}"


def test_every_object_is_valid_for_the_cluster_version(update_run: ProgramRun, dev_config: dict[str, str]) -> None:
    version = dev_config["agentic-platform:kubernetesVersion"]
    objects = kubernetes_objects(update_run)
    kinds = {r.inputs["kind"] for r in objects}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "NetworkPolicy", "Ingress", "ServiceMonitor"} <= kinds
    for resource in objects:
        _validate(manifest(resource), version)


def test_preview_objects_are_valid_where_known(preview_run: ProgramRun, dev_config: dict[str, str]) -> None:
    """In a preview, image digests and table names are unknown; every object without unknowns must validate."""
    version = dev_config["agentic-platform:kubernetesVersion"]
    checked = 0
    for resource in kubernetes_objects(preview_run):
        if "<unknown>" in repr(resource.inputs):
            continue
        _validate(manifest(resource), version)
        checked += 1
    assert checked >= 40


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "pathh"), "/health"),
        (("spec", "replicas"), "two"),
        (("spec", "template", "spec", "terminationGracePeriodSeconds"), "thirty"),
    ],
)
def test_validation_rejects_broken_deployments(update_run: ProgramRun, path: tuple[Any, ...], value: Any) -> None:
    (deployment,) = [d for d in k8s_objects_of(update_run, "Deployment") if d["metadata"]["name"] == "agent-core"]
    broken = copy.deepcopy(deployment)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(Exception):
        validate_manifest(broken, "1.35")


def test_service_monitor_schema_rejects_mistakes(update_run: ProgramRun) -> None:
    monitor = k8s_objects_of(update_run, "ServiceMonitor")[0]
    validator = crd_validator(CRD_SCHEMAS["monitoring.coreos.com/v1/ServiceMonitor"])
    for mutate in (
        lambda m: m["spec"].pop("selector"),
        lambda m: m["spec"]["endpoints"][0].update(interval="30 seconds"),
        lambda m: m["spec"]["endpoints"][0].update(scheme="ftp"),
        lambda m: m["spec"].update(endpoint=[]),
    ):
        broken = copy.deepcopy(monitor)
        mutate(broken)
        assert list(validator.iter_errors(broken))


def test_every_object_validates_for_another_supported_version() -> None:
    run = run_with({"kubernetesVersion": "1.34"}, preview=False)
    assert run.error is None
    for resource in kubernetes_objects(run):
        _validate(manifest(resource), "1.34")


def _pod_templates(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in k8s_objects_of(run, "Deployment")}


def test_every_pod_meets_the_restricted_profile(program: ProgramRun) -> None:
    pods = _pod_templates(program)
    assert set(pods) == {"agent-core", "aws-mcp", "database-mcp", "custom-mcp", "k8s-mcp", "frontend"}
    for name, spec in pods.items():
        assert restricted_violations(spec) == [], name


def test_every_pod_is_hardened_beyond_the_profile(program: ProgramRun) -> None:
    for name, spec in _pod_templates(program).items():
        pod = spec["securityContext"]
        assert (pod["runAsNonRoot"], pod["runAsUser"], pod["fsGroup"]) == (True, 1000, 2000), name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        (container,) = spec["containers"]
        ctx = container["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False, name
        assert ctx["capabilities"] == {"drop": ["ALL"]}, name
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert len(tmp) == 1, name
        (volume,) = [v for v in spec["volumes"] if v["name"] == tmp[0]["name"]]
        assert "emptyDir" in volume, name


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s.update(hostNetwork=True), "hostNetwork"),
        (lambda s: s["containers"][0]["securityContext"].update(runAsNonRoot=False), "runAsNonRoot"),
        (lambda s: s["containers"][0]["securityContext"].update(runAsUser=0), "runAsUser"),
        (
            lambda s: s["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True),
            "allowPrivilegeEscalation",
        ),
        (lambda s: s["containers"][0]["securityContext"]["capabilities"].update(add=["NET_ADMIN"]), "NET_BIND_SERVICE"),
        (lambda s: s["containers"][0]["securityContext"].pop("capabilities"), "drop ALL"),
        (lambda s: s["securityContext"].update(seccompProfile={"type": "Unconfined"}), "seccompProfile"),
        (lambda s: s["volumes"].append({"name": "host", "hostPath": {"path": "/"}}), "hostPath"),
        (lambda s: s["containers"][0]["securityContext"].update(privileged=True), "privileged"),
    ],
)
def test_the_restricted_check_catches_violations(update_run: ProgramRun, change: Any, expected: str) -> None:
    spec = copy.deepcopy(_pod_templates(update_run)["agent-core"])
    change(spec)
    assert any(expected in problem for problem in restricted_violations(spec))


def test_namespaces_enforce_the_restricted_profile(program: ProgramRun) -> None:
    namespaces = {n["metadata"]["name"]: n["metadata"]["labels"] for n in k8s_objects_of(program, "Namespace")}
    for name in ("agentic", "k8s-admin"):
        assert namespaces[name]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert "default" not in namespaces
    # The ALB's targets are the apps' pods: the controller gates their readiness on target health there.
    assert namespaces["agentic"]["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"


def test_apps_namespace_follows_configuration() -> None:
    run = run_with({"appsNamespace": "workflows"})
    assert run.error is None
    namespaces = {n["metadata"]["name"] for n in k8s_objects_of(run, "Namespace")}
    assert {"workflows", "k8s-admin"} <= namespaces and "agentic" not in namespaces
    for deployment in k8s_objects_of(run, "Deployment"):
        expected = "k8s-admin" if deployment["metadata"]["name"] == "k8s-mcp" else "workflows"
        assert deployment["metadata"]["namespace"] == expected
