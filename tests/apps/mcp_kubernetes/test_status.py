from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from apps.common.tools import ToolError
from apps.mcp_kubernetes import status
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.status import get_cluster_status
from tests.support.fake_kube import FakeKube
from tests.support.fake_kube_state import NODE_NAMES
from tests.support.kube_objects import build_event


def test_summarizes_nodes_pods_deployments_and_warnings(access: ClusterAccess, now: datetime) -> None:
    summary = get_cluster_status(access, now=now)

    assert (summary.node_count, summary.ready_node_count) == (3, 2)
    assert summary.nodes[0].name == NODE_NAMES[2]  # not-ready nodes come first
    assert summary.nodes[0].ready is False
    system_node = next(node for node in summary.nodes if node.name == NODE_NAMES[0])
    assert system_node.roles == ["system"]
    assert (system_node.allocatable_cpu, system_node.allocatable_memory) == ("3920m", "15214976Ki")
    assert system_node.kubelet_version == "v1.33.1-eks-b9f9b3b"

    assert summary.pods_by_phase == {"Pending": 3, "Running": 8, "Succeeded": 1}
    assert summary.pods_counted == 12
    assert summary.pods_truncated is False

    short = {(d.namespace, d.name): (d.desired, d.available) for d in summary.unavailable_deployments}
    assert short == {
        ("agentic", "api"): (2, 1),
        ("agentic", "image-fetcher"): (1, 0),
        ("agentic", "memory-hog"): (1, 0),
        ("agentic", "report-builder"): (1, 0),
        ("agentic", "settings-reader"): (1, 0),
    }

    warnings = summary.warning_events
    assert {event.type for event in warnings} == {"Warning"}
    assert [event.reason for event in warnings] == [
        "FailedScheduling",
        "BackOff",
        "Failed",
        "BackOff",
        "Failed",
        "NodeNotReady",
    ]
    assert warnings[0].last_seen_seconds == 30
    assert warnings[-1].object == f"Node/{NODE_NAMES[2]}"


def test_lists_are_paged_with_limit_and_continue(
    kube: FakeKube, access: ClusterAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status, "PAGE_SIZE", 5)

    summary = get_cluster_status(access)

    assert summary.pods_counted == 12
    assert summary.pods_truncated is False
    pod_pages = kube.requests_to("/api/v1/pods")
    assert [page.query["limit"] for page in pod_pages] == ["5", "5", "5"]
    assert "continue" not in pod_pages[0].query
    assert all(page.query.get("continue") for page in pod_pages[1:])
    assert kube.requests_to("/api/v1/events")[0].query["fieldSelector"] == "type=Warning"


def test_counting_stops_at_the_ceiling_and_says_so(
    kube: FakeKube, access: ClusterAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status, "PAGE_SIZE", 4)
    monkeypatch.setattr(status, "MAX_PODS_COUNTED", 6)

    summary = get_cluster_status(access)

    assert summary.pods_counted == 6
    assert summary.pods_truncated is True
    assert [page.query["limit"] for page in kube.requests_to("/api/v1/pods")] == ["4", "2"]


def test_only_the_newest_twenty_warnings_are_shown(kube: FakeKube, access: ClusterAccess, now: datetime) -> None:
    kube.state.events = [
        build_event(
            "agentic", "Pod", f"batch-{index}", "BackOff", f"attempt {index}", last_seen=now - timedelta(hours=index)
        )
        for index in range(30)
    ]

    warnings = get_cluster_status(access, now=now).warning_events

    assert [event.message for event in warnings] == [f"attempt {index}" for index in range(20)]


def test_a_deployment_without_replicas_desires_one(kube: FakeKube, access: ClusterAccess) -> None:
    web = kube.state.deployment("k8s-admin", "web")
    assert web is not None and web.spec is not None and web.status is not None
    web.spec.replicas = None
    web.status.available_replicas = None

    short = get_cluster_status(access).unavailable_deployments

    assert ("k8s-admin", "web", 1, 0) in [(d.namespace, d.name, d.desired, d.available) for d in short]


def test_a_forbidden_section_is_reported_and_the_rest_still_read(kube: FakeKube, access: ClusterAccess) -> None:
    kube.state.forbid("/api/v1/nodes")

    summary = get_cluster_status(access)

    assert (summary.node_count, summary.nodes) == (0, [])
    (reason,) = summary.not_permitted
    assert "lacks RBAC permission 'list' on 'nodes'" in reason
    assert summary.pods_counted == 12
    assert len(summary.unavailable_deployments) == 5


def test_when_every_section_is_forbidden_the_call_fails(kube: FakeKube, access: ClusterAccess) -> None:
    for path in ("/api/v1/nodes", "/api/v1/pods", "/apis/apps/v1/deployments", "/api/v1/events"):
        kube.state.forbid(path)

    with pytest.raises(ToolError, match="'list' on 'nodes'"):
        get_cluster_status(access)


def test_an_unreachable_cluster_fails_at_the_first_section(kube: FakeKube, access: ClusterAccess) -> None:
    kube.state.token = "revoked"

    with pytest.raises(ToolError, match="401"):
        get_cluster_status(access)

    assert len(kube.requests) == 1
