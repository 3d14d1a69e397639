"""list_pods: a kubectl-get-pods view, one bounded page, never megabytes."""

from __future__ import annotations

from datetime import UTC, datetime

from kubernetes.client import V1Pod, V1PodList
from pydantic import BaseModel, Field

from apps.common.tools import ToolError
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.durations import human_duration, seconds_since
from apps.mcp_kubernetes.paging import continue_token
from apps.mcp_kubernetes.pod_facts import display_status, ready_fraction, restart_count
from apps.mcp_kubernetes.validation import validate_label_selector, validate_namespace

MAX_POD_LIMIT = 500


class PodSummary(BaseModel):
    name: str
    namespace: str
    phase: str = Field(description="The pod phase: Pending, Running, Succeeded, Failed or Unknown.")
    status: str = Field(description="The most specific reason, as kubectl prints it: CrashLoopBackOff, Evicted...")
    ready: str = Field(description="Ready containers over all containers, e.g. '2/2'.")
    restarts: int
    node: str | None
    age_seconds: int | None
    age: str = Field(description="Age in kubectl's short form, e.g. '3h12m'.")


class PodListing(BaseModel):
    namespace: str | None = Field(description="The namespace listed; null when all namespaces were listed.")
    label_selector: str | None
    pods: list[PodSummary]
    truncated: bool = Field(description="True when more pods matched than the limit; narrow the query to see them.")


def list_pods(
    access: ClusterAccess,
    namespace: str | None = None,
    label_selector: str | None = None,
    limit: int = 100,
    *,
    now: datetime | None = None,
) -> PodListing:
    if namespace is not None:
        validate_namespace(namespace)
    if label_selector is not None:
        validate_label_selector(label_selector)
    label_selector = label_selector or None  # "" selects everything; say so by sending none
    if not 1 <= limit <= MAX_POD_LIMIT:
        raise ToolError(f"limit must be between 1 and {MAX_POD_LIMIT}, got {limit}.")
    apis = access.apis()
    # The API's own limit keeps one answer small however large the cluster; its continue token tells truncation.
    page: V1PodList
    with apis.call("list", "pods", namespace=namespace):
        if namespace is None:
            page = apis.core.list_pod_for_all_namespaces(
                label_selector=label_selector, limit=limit, _request_timeout=apis.request_timeout
            )
        else:
            page = apis.core.list_namespaced_pod(
                namespace, label_selector=label_selector, limit=limit, _request_timeout=apis.request_timeout
            )
    moment = now or datetime.now(UTC)
    return PodListing(
        namespace=namespace,
        label_selector=label_selector,
        pods=[summarize_pod(pod, moment) for pod in page.items[:limit]],
        truncated=continue_token(page) is not None or len(page.items) > limit,
    )


def summarize_pod(pod: V1Pod, now: datetime) -> PodSummary:
    metadata, spec, status = pod.metadata, pod.spec, pod.status
    age_seconds = seconds_since(metadata.creation_timestamp if metadata else None, now)
    return PodSummary(
        name=(metadata.name if metadata else None) or "",
        namespace=(metadata.namespace if metadata else None) or "",
        phase=(status.phase if status else None) or "Unknown",
        status=display_status(pod),
        ready=ready_fraction(pod),
        restarts=restart_count(pod),
        node=spec.node_name if spec else None,
        age_seconds=age_seconds,
        age=human_duration(age_seconds),
    )
