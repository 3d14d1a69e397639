from __future__ import annotations

from datetime import datetime

import pytest

from apps.common.tools import ToolError
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.troubleshoot import LOG_TAIL_LINES, troubleshoot_pod
from tests.support.fake_kube import FakeKube
from tests.support.fake_kube_state import (
    BAD_IMAGE,
    CRASH_LOG_LAST_LINE,
    CRASHLOOP_POD,
    IMAGE_PULL_POD,
    OOM_POD,
    UNSCHEDULABLE_POD,
)


def test_crash_looping_pod_comes_with_its_previous_logs(kube: FakeKube, access: ClusterAccess, now: datetime) -> None:
    report = troubleshoot_pod(access, *CRASHLOOP_POD, now=now)

    assert (report.phase, report.status, report.healthy) == ("Running", "CrashLoopBackOff", False)
    assert "crash-looping" in report.diagnosis[0]
    (container,) = report.containers
    assert (container.name, container.state, container.reason, container.restarts) == (
        "api",
        "waiting",
        "CrashLoopBackOff",
        7,
    )
    assert (container.last_termination_reason, container.last_exit_code) == ("Error", 1)
    (logs,) = report.logs
    assert (logs.container, logs.previous, logs.error) == ("api", True, None)
    assert len(logs.lines) == LOG_TAIL_LINES
    assert logs.lines[-1] == CRASH_LOG_LAST_LINE
    assert [(e.reason, e.type, e.count) for e in report.events] == [("BackOff", "Warning", 31), ("Pulled", "Normal", 8)]
    assert report.events[0].last_seen == "60s"

    (events_request,) = kube.requests_to(f"/api/v1/namespaces/{CRASHLOOP_POD[0]}/events")
    assert events_request.query["fieldSelector"] == f"involvedObject.kind=Pod,involvedObject.name={CRASHLOOP_POD[1]}"
    (log_request,) = kube.requests_to(f"/api/v1/namespaces/{CRASHLOOP_POD[0]}/pods/{CRASHLOOP_POD[1]}/log")
    assert log_request.query == {
        "container": "api",
        "previous": "true",
        "tailLines": str(LOG_TAIL_LINES),
        "limitBytes": "16384",
    }


def test_image_pull_failure_reads_no_logs(kube: FakeKube, access: ClusterAccess) -> None:
    report = troubleshoot_pod(access, *IMAGE_PULL_POD)

    assert report.status == "ImagePullBackOff"
    assert BAD_IMAGE in report.diagnosis[0]
    assert "not found" in report.diagnosis[0]  # from the kubelet's Failed event
    assert report.logs == []
    assert not any(r.path.endswith("/log") for r in kube.requests)


def test_oom_killed_pod(access: ClusterAccess) -> None:
    report = troubleshoot_pod(access, *OOM_POD)

    assert "OOMKilled" in report.diagnosis[0]
    assert "128Mi" in report.diagnosis[0]
    assert report.containers[0].exit_code == 137
    assert report.logs[0].lines == ["allocating 64Mi block 1", "allocating 64Mi block 2"]
    assert report.logs[0].previous is False


def test_unschedulable_pod_reports_its_condition(access: ClusterAccess) -> None:
    report = troubleshoot_pod(access, *UNSCHEDULABLE_POD)

    assert report.node is None
    assert report.containers == []
    assert "cannot be scheduled" in report.diagnosis[0]
    assert "Insufficient memory" in report.diagnosis[0]
    (condition,) = report.conditions
    assert (condition.type, condition.status, condition.reason) == ("PodScheduled", "False", "Unschedulable")
    assert report.events[0].reason == "FailedScheduling"


def test_healthy_pod(access: ClusterAccess) -> None:
    report = troubleshoot_pod(access, "k8s-admin", "web-7d4b9c8f6-abcde")

    assert report.healthy
    assert report.logs == []
    assert report.next_steps == []


def test_log_api_errors_are_tolerated(kube: FakeKube, access: ClusterAccess) -> None:
    kube.state.logs.clear()  # the kubelet no longer has the previous instance's logs

    report = troubleshoot_pod(access, *CRASHLOOP_POD)

    (logs,) = report.logs
    assert logs.lines == []
    assert logs.error is not None
    assert 'previous terminated container "api"' in logs.error
    assert "crash-looping" in report.diagnosis[0]


def test_forbidden_logs_and_events_still_give_a_report(kube: FakeKube, access: ClusterAccess) -> None:
    namespace, name = CRASHLOOP_POD
    kube.state.forbid(f"/api/v1/namespaces/{namespace}/pods/{name}/log")
    kube.state.forbid(f"/api/v1/namespaces/{namespace}/events")

    report = troubleshoot_pod(access, namespace, name)

    assert report.events == []
    assert report.events_error is not None
    assert "'list' on 'events'" in report.events_error
    assert report.logs[0].error is not None
    assert "'get' on 'pods/log'" in report.logs[0].error
    assert "crash-looping" in report.diagnosis[0]


def test_unknown_pod_says_what_was_not_found(kube: FakeKube, access: ClusterAccess) -> None:
    with pytest.raises(ToolError) as refused:
        troubleshoot_pod(access, "agentic", "no-such-pod")

    assert str(refused.value).startswith("Not found (404): pod 'agentic/no-such-pod' does not exist.")


def test_forbidden_pod_read_is_an_error(kube: FakeKube, access: ClusterAccess) -> None:
    kube.state.forbid(f"/api/v1/namespaces/{OOM_POD[0]}/pods/{OOM_POD[1]}")

    with pytest.raises(ToolError, match=r"lacks RBAC permission 'get' on 'pods' .* in namespace 'agentic'"):
        troubleshoot_pod(access, *OOM_POD)


@pytest.mark.parametrize(("namespace", "name"), [("agentic", "Bad_Name"), ("kube_system", "pod"), ("agentic", "")])
def test_malformed_names_are_refused_before_any_request(
    kube: FakeKube, access: ClusterAccess, namespace: str, name: str
) -> None:
    with pytest.raises(ToolError, match="Invalid"):
        troubleshoot_pod(access, namespace, name)

    assert kube.requests == []
