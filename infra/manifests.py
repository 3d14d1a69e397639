"""Kubernetes objects for one workload, as plain manifests (dicts whose leaves may be Pulumi inputs).

Plain data so that what the Platform component registers, what the tests validate with kubernetes-validate
and checkov, and what `make render` writes are the same objects. Every pod meets the Pod Security Standards
`restricted` profile and runs with a read-only root filesystem.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra.workloads import (
    API_KEYS_FILE,
    MCP_TOKEN_FILE,
    PRE_STOP_SECONDS,
    Workload,
)

__all__ = [
    "API_KEYS_SECRET",
    "MCP_TOKEN_SECRET",
    "RUN_AS_USER",
    "config_map",
    "deployment",
    "horizontal_pod_autoscaler",
    "namespace",
    "pod_disruption_budget",
    "secret",
    "service",
    "service_account",
]

RUN_AS_USER = 1000
FS_GROUP = 2000
API_KEYS_SECRET = "agent-core-api-keys"  # noqa: S105 - the Secret's name
MCP_TOKEN_SECRET = "mcp-token"  # noqa: S105 - the Secret's name
CONFIG_HASH_ANNOTATION = "agentic.io/config-sha256"


def _meta(name: str, namespace: str | None, labels: dict[str, str], **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
    """A namespace that admits only pods meeting the `restricted` Pod Security Standard."""
    pss = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")} | {
        "pod-security.kubernetes.io/enforce-version": "latest"
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {**pss, **labels}}}


def service_account(workload: Workload, version: str) -> dict[str, Any]:
    assert workload.service_account is not None
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(workload.service_account, workload.namespace, workload.metadata_labels(version)),
        # Pods that do not talk to the API server get no token; Pod Identity mounts its own.
        "automountServiceAccountToken": workload.needs_kubernetes_api,
    }


def config_map(workload: Workload, version: str, data: dict[str, pulumi.Input[str]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(workload.config_map, workload.namespace, workload.metadata_labels(version)),
        "data": data,
    }


def secret(name: str, namespace_name: str, labels: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(name, namespace_name, labels),
        "type": "Opaque",
        "stringData": data,
    }


def _probe(path: str, *, period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def _volumes(workload: Workload) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, mounts): a writable /tmp on a read-only root, and the secrets the service reads as files."""
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108 - an emptyDir
    files = []
    if workload.name == "agent-core":
        files.append(("api-keys", API_KEYS_SECRET, API_KEYS_FILE))
    if workload.mcp_name:
        files.append(("mcp-token", MCP_TOKEN_SECRET, MCP_TOKEN_FILE))
    for volume, secret_name, path in files:
        directory, key = path.rsplit("/", 1)
        # 0440 with fsGroup: readable by the service's group, by nobody else.
        volumes.append(
            {
                "name": volume,
                "secret": {"secretName": secret_name, "items": [{"key": key, "path": key}], "defaultMode": 0o440},
            }
        )
        mounts.append({"name": volume, "mountPath": directory, "readOnly": True})
    return volumes, mounts


def _container(workload: Workload, image: pulumi.Input[str], mounts: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": workload.name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": workload.port, "protocol": "TCP"}],
        "resources": {"requests": dict(workload.requests), "limits": dict(workload.limits)},
        # Liveness must not depend on anything else (/health); readiness runs the service's checks (/ready).
        "startupProbe": _probe("/health", period=2, timeout=2, failures=30),
        "livenessProbe": _probe("/health", period=10, timeout=2, failures=3),
        "readinessProbe": _probe("/ready", period=5, timeout=3, failures=2),
        # Keeps serving while endpoints and the load balancer stop routing to it; then SIGTERM drains.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }
    if workload.component != "frontend":
        container["envFrom"] = [{"configMapRef": {"name": workload.config_map}}]
    if workload.name == "agent-core":
        # The agent core reads its MCP bearer token from the environment only (AgentCoreSettings.mcp_token).
        container["env"] = [
            {
                "name": "AGENTIC_MCP_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": MCP_TOKEN_SECRET, "key": "token"}},
            }
        ]
    return container


def _spread(workload: Workload) -> list[dict[str, Any]]:
    """Replicas across zones (hard: Karpenter launches nodes where needed) and nodes (best effort)."""
    autoscaling = workload.autoscaling
    if workload.replicas < 2 and (autoscaling is None or autoscaling.max_replicas < 2):
        return []
    hard_zones = workload.replicas >= 2
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "DoNotSchedule" if hard and hard_zones else "ScheduleAnyway",
            "labelSelector": {"matchLabels": workload.selector},
            # Only the current rollout's pods count, so a rolling update is not blocked by the old ones.
            "matchLabelKeys": ["pod-template-hash"],
        }
        for key, hard in (("topology.kubernetes.io/zone", True), ("kubernetes.io/hostname", False))
    ]


def deployment(
    workload: Workload, version: str, image: pulumi.Input[str], config_hash: pulumi.Input[str]
) -> dict[str, Any]:
    labels = workload.metadata_labels(version)
    volumes, mounts = _volumes(workload)
    pod_spec: dict[str, Any] = {
        "automountServiceAccountToken": workload.needs_kubernetes_api,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": workload.termination_grace_seconds,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": FS_GROUP,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(workload, image, mounts)],
        "volumes": volumes,
    }
    if workload.service_account:
        pod_spec["serviceAccountName"] = workload.service_account
    spread = _spread(workload)
    if spread:
        pod_spec["topologySpreadConstraints"] = spread
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(workload.name, workload.namespace, labels),
        "spec": {
            "replicas": workload.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": workload.selector},
            # A new pod is ready before an old one goes: single-replica services stay up during a rollout.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                # A changed ConfigMap changes this hash, and so rolls the pods (they read it only at start).
                "metadata": {"labels": labels, "annotations": {CONFIG_HASH_ANNOTATION: config_hash}},
                "spec": pod_spec,
            },
        },
    }


def service(workload: Workload, version: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(workload.service, workload.namespace, workload.metadata_labels(version)),
        "spec": {
            "type": "ClusterIP",
            "selector": workload.selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def horizontal_pod_autoscaler(workload: Workload, version: str) -> dict[str, Any]:
    scaling = workload.autoscaling
    assert scaling is not None
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload.name},
        "minReplicas": scaling.min_replicas,
        "maxReplicas": scaling.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": scaling.cpu_utilization},
                },
            }
        ],
    }
    behavior: dict[str, Any] = {}
    if scaling.scale_up:
        pods, period = scaling.scale_up
        behavior["scaleUp"] = {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [{"type": "Pods", "value": pods, "periodSeconds": period}],
        }
    if scaling.scale_down:
        pods, period = scaling.scale_down
        behavior["scaleDown"] = {
            "stabilizationWindowSeconds": 300,
            "selectPolicy": "Min",
            "policies": [{"type": "Pods", "value": pods, "periodSeconds": period}],
        }
    if behavior:
        spec["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(workload.name, workload.namespace, workload.metadata_labels(version)),
        "spec": spec,
    }


def pod_disruption_budget(workload: Workload, version: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(workload.name, workload.namespace, workload.metadata_labels(version)),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": workload.selector},
            # A crash-looping pod must not block node drains.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
