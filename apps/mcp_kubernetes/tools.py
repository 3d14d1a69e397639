"""The Kubernetes server's tool catalog: four tools over one ``ClusterAccess``.

Three tools only read. ``scale_deployment`` writes, within the operator's namespace allow-list and replica maximum.
Tool functions are plain sync functions (the SDK runs them in a worker thread); their ``Annotated`` parameters
become the input schemas and their pydantic return types the output schemas.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apps.common.tools import ToolDef
from apps.mcp_kubernetes import pods, scaling, status, troubleshoot
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.pods import MAX_POD_LIMIT, PodListing
from apps.mcp_kubernetes.scaling import ScalePolicy, ScaleResult
from apps.mcp_kubernetes.status import ClusterStatus
from apps.mcp_kubernetes.troubleshoot import PodTroubleshooting
from apps.mcp_kubernetes.validation import (
    DNS1123_LABEL_MAX_LENGTH,
    DNS1123_LABEL_PATTERN,
    DNS1123_SUBDOMAIN_MAX_LENGTH,
    DNS1123_SUBDOMAIN_PATTERN,
    LABEL_SELECTOR_MAX_LENGTH,
    LABEL_SELECTOR_PATTERN,
)

__all__ = ["build_tools"]

# The SDK evaluates these string annotations in this module's globals, so every type a tool signature names
# must live at module level, not inside build_tools.
_Namespace = Annotated[str, Field(min_length=1, max_length=DNS1123_LABEL_MAX_LENGTH, pattern=DNS1123_LABEL_PATTERN)]
_ObjectName = Annotated[
    str, Field(min_length=1, max_length=DNS1123_SUBDOMAIN_MAX_LENGTH, pattern=DNS1123_SUBDOMAIN_PATTERN)
]
_LabelSelector = Annotated[str, Field(max_length=LABEL_SELECTOR_MAX_LENGTH, pattern=LABEL_SELECTOR_PATTERN)]

NamespaceFilterArg = Annotated[_Namespace | None, Field(description="Namespace to list; omit for all namespaces.")]
LabelSelectorArg = Annotated[
    _LabelSelector | None, Field(description="Label selector, e.g. 'app=web' or 'app=web,tier!=cache'.")
]
PodLimitArg = Annotated[int, Field(ge=1, le=MAX_POD_LIMIT, description="Most pods to return.")]
NamespaceArg = Annotated[_Namespace, Field(description="The namespace.")]
PodNameArg = Annotated[_ObjectName, Field(description="The pod's name.")]
DeploymentNameArg = Annotated[_ObjectName, Field(description="The Deployment's name.")]
DryRunArg = Annotated[bool, Field(description="Validate the change on the API server without applying it.")]


def build_tools(access: ClusterAccess, *, scalable_namespaces: frozenset[str], max_replicas: int) -> list[ToolDef]:
    """The tools, bound to ``access``; raises ValueError when the scaling policy itself is invalid."""
    policy = ScalePolicy(scalable_namespaces=scalable_namespaces, max_replicas=max_replicas)

    def list_pods(
        namespace: NamespaceFilterArg = None, label_selector: LabelSelectorArg = None, limit: PodLimitArg = 100
    ) -> PodListing:
        return pods.list_pods(access, namespace=namespace, label_selector=label_selector, limit=limit)

    def get_cluster_status() -> ClusterStatus:
        return status.get_cluster_status(access)

    def troubleshoot_pod(namespace: NamespaceArg, name: PodNameArg) -> PodTroubleshooting:
        return troubleshoot.troubleshoot_pod(access, namespace=namespace, name=name)

    def scale_deployment(
        namespace: NamespaceArg, name: DeploymentNameArg, replicas: int, dry_run: DryRunArg = False
    ) -> ScaleResult:
        return scaling.scale_deployment(access, policy, namespace, name, replicas, dry_run=dry_run)

    # The replica maximum is per server, so its schema bound cannot be a module-level alias: put the evaluated
    # annotation in place of the string one, and clients see the real maximum in the input schema.
    scale_deployment.__annotations__["replicas"] = Annotated[
        int, Field(ge=0, le=max_replicas, description=f"The replica count to set, 0 to {max_replicas}.")
    ]

    return [
        ToolDef(
            fn=list_pods,
            description=(
                "List pods with phase, status, readiness, restarts, node and age. Returns at most `limit` pods; "
                "`truncated` is true when more matched."
            ),
            read_only=True,
        ),
        ToolDef(
            fn=get_cluster_status,
            description=(
                "Summarize the cluster: nodes and readiness, pod counts by phase, Deployments with fewer available "
                "replicas than desired, and the newest Warning events."
            ),
            read_only=True,
            # Pages through every pod, deployment and warning in the cluster (bounded), so it may take a while.
            timeout_seconds=60,
        ),
        ToolDef(
            fn=troubleshoot_pod,
            description=(
                "Diagnose one pod: phase, conditions, container states and last terminations, recent events, the "
                "last log lines of failing containers, likely causes and next steps."
            ),
            read_only=True,
        ),
        ToolDef(
            fn=scale_deployment,
            description=_scale_description(policy),
            read_only=False,
            destructive=True,
            idempotent=True,
        ),
    ]


def _scale_description(policy: ScalePolicy) -> str:
    if not policy.scalable_namespaces:
        return "Set a Deployment's replica count. Disabled on this server: no namespace is allowed."
    allowed = ", ".join(sorted(policy.scalable_namespaces))
    return (
        f"Set a Deployment's replica count (0 to {policy.max_replicas}) through its scale subresource. Allowed "
        f"namespaces: {allowed}. dry_run validates on the API server without changing anything."
    )
