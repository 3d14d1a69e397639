"""get_cluster_status: nodes, pods by phase, deployments short of replicas, recent warnings, each bounded.

Every list is paged with ``limit``/``continue`` and stops at a ceiling; a ``*_truncated`` flag says when it did,
so a 10,000-pod cluster costs a known number of requests and the model knows the numbers are partial.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from kubernetes.client import CoreV1Event, V1Deployment, V1Node
from pydantic import BaseModel, Field

from apps.mcp_kubernetes.api_errors import PermissionDenied
from apps.mcp_kubernetes.cluster_access import ClusterAccess, ClusterApis
from apps.mcp_kubernetes.events import EventReport, newest_first, report_event
from apps.mcp_kubernetes.paging import collect_pages

PAGE_SIZE = 500
MAX_NODES = 1000
MAX_NODES_LISTED = 100
MAX_PODS_COUNTED = 5000
MAX_DEPLOYMENTS = 5000
MAX_DEPLOYMENTS_LISTED = 50
MAX_WARNING_EVENTS_READ = 1000
WARNING_EVENTS_SHOWN = 20

_ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"
_SECTIONS = 4  # nodes, pods, deployments, warning events
SectionT = TypeVar("SectionT")


class NodeSummary(BaseModel):
    name: str
    ready: bool
    roles: list[str]
    kubelet_version: str | None
    allocatable_cpu: str | None
    allocatable_memory: str | None


class UnavailableDeployment(BaseModel):
    namespace: str
    name: str
    desired: int
    available: int


class ClusterStatus(BaseModel):
    node_count: int
    ready_node_count: int
    nodes: list[NodeSummary] = Field(description=f"At most {MAX_NODES_LISTED} nodes, not-ready ones first.")
    nodes_truncated: bool
    pods_by_phase: dict[str, int]
    pods_counted: int
    pods_truncated: bool = Field(description=f"True when the cluster has more than {MAX_PODS_COUNTED} pods.")
    unavailable_deployments: list[UnavailableDeployment]
    deployments_truncated: bool
    warning_events: list[EventReport] = Field(description=f"The newest {WARNING_EVENTS_SHOWN} Warning events.")
    warning_events_truncated: bool
    not_permitted: list[str] = Field(
        description="Why sections could not be read (RBAC). Those sections are left empty: unknown, not zero."
    )


def get_cluster_status(access: ClusterAccess, *, now: datetime | None = None) -> ClusterStatus:
    """Each section is read even when RBAC forbids another: an identity limited to some resources (no nodes, say)
    still gets the rest. Any other failure (unreachable, timeout) ends the call at once rather than repeat it."""
    apis = access.apis()
    moment = now or datetime.now(UTC)
    denied: list[PermissionDenied] = []
    nodes, nodes_truncated = _unless_denied(lambda: _read_nodes(apis), denied) or ([], False)
    node_summaries = sorted((summarize_node(node) for node in nodes), key=lambda node: (node.ready, node.name))
    phases, pods_truncated = _unless_denied(lambda: _count_pods_by_phase(apis), denied) or (Counter(), False)
    deployments, deployments_truncated = _unless_denied(lambda: _read_deployments(apis), denied) or ([], False)
    unavailable = [row for row in (deployment_shortfall(d) for d in deployments) if row is not None]
    warnings, warnings_truncated = _unless_denied(lambda: _read_warning_events(apis), denied) or ([], False)
    if len(denied) == _SECTIONS:
        raise denied[0]
    return ClusterStatus(
        node_count=len(node_summaries),
        ready_node_count=sum(1 for node in node_summaries if node.ready),
        nodes=node_summaries[:MAX_NODES_LISTED],
        nodes_truncated=nodes_truncated or len(node_summaries) > MAX_NODES_LISTED,
        pods_by_phase=dict(sorted(phases.items())),
        pods_counted=sum(phases.values()),
        pods_truncated=pods_truncated,
        unavailable_deployments=unavailable[:MAX_DEPLOYMENTS_LISTED],
        deployments_truncated=deployments_truncated or len(unavailable) > MAX_DEPLOYMENTS_LISTED,
        warning_events=[report_event(event, moment) for event in newest_first(warnings, WARNING_EVENTS_SHOWN)],
        # Sorting by time needs every warning; when there were too many to read, "newest" is only approximate.
        warning_events_truncated=warnings_truncated,
        not_permitted=[str(error) for error in denied],
    )


def _unless_denied(read: Callable[[], SectionT], denied: list[PermissionDenied]) -> SectionT | None:
    """The section, or None (and the refusal noted in ``denied``) when RBAC forbids reading it."""
    try:
        return read()
    except PermissionDenied as error:
        denied.append(error)
        return None


def summarize_node(node: V1Node) -> NodeSummary:
    labels = (node.metadata.labels if node.metadata else None) or {}
    roles = sorted(key.removeprefix(_ROLE_LABEL_PREFIX) for key in labels if key.startswith(_ROLE_LABEL_PREFIX))
    if not roles and labels.get("kubernetes.io/role"):
        roles = [labels["kubernetes.io/role"]]
    status = node.status
    conditions = (status.conditions if status else None) or []
    allocatable = (status.allocatable if status else None) or {}
    return NodeSummary(
        name=(node.metadata.name if node.metadata else None) or "",
        ready=any(condition.type == "Ready" and condition.status == "True" for condition in conditions),
        roles=roles,
        kubelet_version=status.node_info.kubelet_version if status and status.node_info else None,
        allocatable_cpu=allocatable.get("cpu"),
        allocatable_memory=allocatable.get("memory"),
    )


def deployment_shortfall(deployment: V1Deployment) -> UnavailableDeployment | None:
    """The deployment when fewer replicas are available than it asks for; None when it is whole."""
    # An unset spec.replicas means 1: the API server defaults it.
    desired = 1 if deployment.spec is None or deployment.spec.replicas is None else deployment.spec.replicas
    available = (deployment.status.available_replicas if deployment.status else None) or 0
    if available >= desired:
        return None
    metadata = deployment.metadata
    return UnavailableDeployment(
        namespace=(metadata.namespace if metadata else None) or "",
        name=(metadata.name if metadata else None) or "",
        desired=desired,
        available=available,
    )


def _read_nodes(apis: ClusterApis) -> tuple[list[V1Node], bool]:
    with apis.call("list", "nodes"):
        return collect_pages(
            lambda limit, token: apis.core.list_node(
                limit=limit, _continue=token, _request_timeout=apis.request_timeout
            ),
            page_size=PAGE_SIZE,
            max_items=MAX_NODES,
        )


def _count_pods_by_phase(apis: ClusterApis) -> tuple[Counter[str], bool]:
    with apis.call("list", "pods"):
        pods, truncated = collect_pages(
            lambda limit, token: apis.core.list_pod_for_all_namespaces(
                limit=limit, _continue=token, _request_timeout=apis.request_timeout
            ),
            page_size=PAGE_SIZE,
            max_items=MAX_PODS_COUNTED,
        )
    return Counter(((pod.status.phase if pod.status else None) or "Unknown") for pod in pods), truncated


def _read_deployments(apis: ClusterApis) -> tuple[list[V1Deployment], bool]:
    with apis.call("list", "deployments", group="apps"):
        return collect_pages(
            lambda limit, token: apis.apps.list_deployment_for_all_namespaces(
                limit=limit, _continue=token, _request_timeout=apis.request_timeout
            ),
            page_size=PAGE_SIZE,
            max_items=MAX_DEPLOYMENTS,
        )


def _read_warning_events(apis: ClusterApis) -> tuple[list[CoreV1Event], bool]:
    with apis.call("list", "events"):
        return collect_pages(
            lambda limit, token: apis.core.list_event_for_all_namespaces(
                field_selector="type=Warning", limit=limit, _continue=token, _request_timeout=apis.request_timeout
            ),
            page_size=PAGE_SIZE,
            max_items=MAX_WARNING_EVENTS_READ,
        )
