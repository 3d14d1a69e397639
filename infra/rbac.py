"""What k8s-mcp may do with the Kubernetes API: the calls its tools make, nothing more.

Reads are cluster-wide (one ClusterRole); scaling is granted namespace by namespace through a Role in each
namespace the stack allows (`scalableNamespaces`), so no configuration mistake can hand the model a
cluster-wide patch on every Deployment. The verbs match apps/mcp_kubernetes (pods.py, status.py,
troubleshoot.py, scaling.py).
"""

from __future__ import annotations

from typing import Any

from infra.workloads import PART_OF

__all__ = ["READ_RULES", "SCALE_RULES", "k8s_mcp_rbac"]

READ_ROLE = "k8s-mcp-read"
SCALE_ROLE = "k8s-mcp-scale"
READ_RULES = [
    {"apiGroups": [""], "resources": ["pods", "pods/log", "events", "nodes"], "verbs": ["get", "list"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
]
SCALE_RULES = [{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]}]


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": "k8s-mcp", "app.kubernetes.io/part-of": PART_OF}


def k8s_mcp_rbac(
    account_namespace: str, account_name: str, scalable_namespaces: tuple[str, ...]
) -> list[dict[str, Any]]:
    subject = [{"kind": "ServiceAccount", "name": account_name, "namespace": account_namespace}]
    group = "rbac.authorization.k8s.io"
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": f"{group}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": READ_ROLE, "labels": _labels()},
            "rules": READ_RULES,
        },
        {
            "apiVersion": f"{group}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": READ_ROLE, "labels": _labels()},
            "roleRef": {"apiGroup": group, "kind": "ClusterRole", "name": READ_ROLE},
            "subjects": subject,
        },
    ]
    for namespace in scalable_namespaces:
        objects.append(
            {
                "apiVersion": f"{group}/v1",
                "kind": "Role",
                "metadata": {"name": SCALE_ROLE, "namespace": namespace, "labels": _labels()},
                "rules": SCALE_RULES,
            }
        )
        objects.append(
            {
                "apiVersion": f"{group}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": SCALE_ROLE, "namespace": namespace, "labels": _labels()},
                "roleRef": {"apiGroup": group, "kind": "Role", "name": SCALE_ROLE},
                "subjects": subject,
            }
        )
    return objects
