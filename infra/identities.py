"""Every Kubernetes service account that calls AWS (or deliberately does not), in one place.

Pod Identity binds a role to exactly one (namespace, service account) pair, so these names are a contract
between the roles made here and the workloads that a later component (or a Helm chart) runs under them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALB_CONTROLLER",
    "EBS_CSI_CONTROLLER",
    "K8S_ADMIN_NAMESPACE",
    "KARPENTER",
    "AppServiceAccounts",
    "ServiceAccountRef",
]

K8S_ADMIN_NAMESPACE = "k8s-admin"
SYSTEM_NAMESPACE = "kube-system"


@dataclass(frozen=True)
class ServiceAccountRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


# The charts' own service account names (Karpenter's chart defaults to its release name, set explicitly).
KARPENTER = ServiceAccountRef(SYSTEM_NAMESPACE, "karpenter")
ALB_CONTROLLER = ServiceAccountRef(SYSTEM_NAMESPACE, "aws-load-balancer-controller")
# Fixed by the aws-ebs-csi-driver add-on.
EBS_CSI_CONTROLLER = ServiceAccountRef(SYSTEM_NAMESPACE, "ebs-csi-controller-sa")


@dataclass(frozen=True)
class AppServiceAccounts:
    """The platform's services. k8s-mcp talks only to the Kubernetes API, so it gets no AWS role."""

    agent_core: ServiceAccountRef
    aws_mcp: ServiceAccountRef
    custom_mcp: ServiceAccountRef
    k8s_mcp: ServiceAccountRef

    @classmethod
    def in_namespace(cls, apps_namespace: str) -> AppServiceAccounts:
        return cls(
            agent_core=ServiceAccountRef(apps_namespace, "agent-core"),
            aws_mcp=ServiceAccountRef(apps_namespace, "aws-mcp"),
            custom_mcp=ServiceAccountRef(apps_namespace, "custom-mcp"),
            k8s_mcp=ServiceAccountRef(K8S_ADMIN_NAMESPACE, "k8s-mcp"),
        )

    def all(self) -> dict[str, ServiceAccountRef]:
        return {
            "agent-core": self.agent_core,
            "aws-mcp": self.aws_mcp,
            "custom-mcp": self.custom_mcp,
            "k8s-mcp": self.k8s_mcp,
        }
