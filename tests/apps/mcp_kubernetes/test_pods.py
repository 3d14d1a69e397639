from __future__ import annotations

from datetime import datetime

import pytest

from apps.common.tools import ToolError
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.pods import list_pods
from tests.support.fake_kube import FakeKube
from tests.support.fake_kube_state import CRASHLOOP_POD, OOM_POD, UNSCHEDULABLE_POD


def test_lists_every_namespace_with_kubectl_columns(kube: FakeKube, access: ClusterAccess, now: datetime) -> None:
    listing = list_pods(access, now=now)

    assert listing.truncated is False
    assert len(listing.pods) == len(kube.state.pods) == 12
    by_name = {pod.name: pod for pod in listing.pods}
    crashing = by_name[CRASHLOOP_POD[1]]
    assert (crashing.namespace, crashing.phase, crashing.status) == ("agentic", "Running", "CrashLoopBackOff")
    assert (crashing.ready, crashing.restarts) == ("0/1", 7)
    assert crashing.node == "ip-10-0-2-20.us-west-2.compute.internal"
    assert (crashing.age_seconds, crashing.age) == (3600, "60m")
    web = by_name["web-7d4b9c8f6-abcde"]
    assert (web.ready, web.status, web.age_seconds, web.age) == ("1/1", "Running", 11520, "3h12m")
    assert by_name[OOM_POD[1]].status == "OOMKilled"
    unscheduled = by_name[UNSCHEDULABLE_POD[1]]
    assert (unscheduled.phase, unscheduled.node, unscheduled.ready) == ("Pending", None, "0/1")


def test_namespace_and_label_selector_are_passed_to_the_api(kube: FakeKube, access: ClusterAccess) -> None:
    listing = list_pods(access, namespace="k8s-admin", label_selector="app=web,tier in (frontend)")

    assert sorted(pod.name for pod in listing.pods) == [f"web-7d4b9c8f6-{s}" for s in ("abcde", "fghij", "klmno")]
    (request,) = kube.requests
    assert request.path == "/api/v1/namespaces/k8s-admin/pods"
    assert request.query["labelSelector"] == "app=web,tier in (frontend)"
    assert request.query["limit"] == "100"


def test_the_api_limit_bounds_the_answer_and_truncation_is_reported(kube: FakeKube, access: ClusterAccess) -> None:
    listing = list_pods(access, limit=5)

    assert len(listing.pods) == 5
    assert listing.truncated is True
    assert [r.query.get("limit") for r in kube.requests] == ["5"]


def test_an_exact_fit_is_not_truncated(access: ClusterAccess) -> None:
    listing = list_pods(access, namespace="kube-system", limit=2)

    assert len(listing.pods) == 2
    assert listing.truncated is False


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"namespace": "Agentic"}, "Invalid namespace 'Agentic'"),
        ({"namespace": "a" * 64}, "at most 63"),
        ({"namespace": "-leading"}, "Invalid namespace"),
        ({"label_selector": "app=web; rm -rf /"}, "Invalid label selector"),
        ({"label_selector": "a=b," * 200}, "too long"),
        ({"limit": 0}, "between 1 and 500"),
        ({"limit": 501}, "between 1 and 500"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    kube: FakeKube, access: ClusterAccess, arguments: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ToolError, match=complaint):
        list_pods(access, **arguments)  # type: ignore[arg-type]

    assert kube.requests == []


def test_rbac_refusal_names_the_missing_permission(kube: FakeKube, access: ClusterAccess) -> None:
    kube.state.forbid("/api/v1/pods")

    with pytest.raises(ToolError) as refused:
        list_pods(access)

    message = str(refused.value)
    assert "Forbidden (403)" in message
    assert "'list' on 'pods' (the core API group) across the cluster" in message
    assert 'cannot list resource "pods"' in message  # the API server's own words are kept
    assert "retrying will not help" in message
    # A namespace the identity may read still works.
    assert len(list_pods(access, namespace="k8s-admin").pods) == 3
