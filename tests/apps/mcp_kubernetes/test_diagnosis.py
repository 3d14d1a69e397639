"""The pure diagnosis rules, on client model objects: no server, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from kubernetes.client import V1PodCondition

from apps.mcp_kubernetes.diagnosis import LogRequest, diagnose_pod, exit_code_meaning
from tests.support.kube_objects import build_event, build_pod, container_status

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_crash_loop_names_the_last_exit_and_asks_for_previous_logs() -> None:
    pod = build_pod(
        "agentic",
        "api-1",
        containers=[
            container_status(
                "api", restarts=6, waiting=("CrashLoopBackOff", "back-off 5m0s"), last_terminated=("Error", 1)
            )
        ],
    )

    diagnosis = diagnose_pod(pod, [])

    assert not diagnosis.healthy
    (finding,) = diagnosis.findings
    assert "container 'api' is crash-looping (CrashLoopBackOff)" in finding
    assert "restarted 6 times" in finding
    assert "Error, exit code 1: a general application error" in finding
    assert diagnosis.log_requests == [LogRequest("api", previous=True)]
    assert any("previous instance's logs" in step for step in diagnosis.next_steps)


def test_image_pull_failure_quotes_the_registry_answer_and_reads_no_logs() -> None:
    image = "registry.example.com/app:v9-typo"
    pod = build_pod(
        "agentic",
        "fetcher-1",
        phase="Pending",
        containers=[container_status("app", image=image, waiting=("ErrImagePull", "pull failed"))],
    )
    events = [
        build_event("agentic", "Pod", "fetcher-1", "Failed", f'Failed to pull image "{image}": 401 Unauthorized'),
    ]

    diagnosis = diagnose_pod(pod, events)

    (finding,) = diagnosis.findings
    assert f"image '{image}' cannot be pulled (ErrImagePull)" in finding
    assert "401 Unauthorized" in finding
    assert any("imagePullSecrets" in step for step in diagnosis.next_steps)
    assert diagnosis.log_requests == []


def test_oom_kill_names_the_memory_limit() -> None:
    pod = build_pod(
        "agentic",
        "hog-1",
        memory_limits={"hog": "256Mi"},
        containers=[
            container_status("hog", restarts=2, terminated=("OOMKilled", 137), last_terminated=("OOMKilled", 137))
        ],
    )

    diagnosis = diagnose_pod(pod, [])

    (finding,) = diagnosis.findings
    assert "killed for using more memory than its memory limit of 256Mi (OOMKilled)" in finding
    assert any("resources.limits.memory" in step for step in diagnosis.next_steps)
    # The instance that was killed is the current, terminated one.
    assert diagnosis.log_requests == [LogRequest("hog", previous=False)]


def test_oom_kill_of_a_restarted_running_container_reads_previous_logs() -> None:
    pod = build_pod(
        "agentic", "hog-2", containers=[container_status("hog", restarts=1, last_terminated=("OOMKilled", 137))]
    )

    diagnosis = diagnose_pod(pod, [])

    assert "memory available on its node" in diagnosis.findings[0]
    assert diagnosis.log_requests == [LogRequest("hog", previous=True)]


def test_missing_secret_is_a_config_error() -> None:
    pod = build_pod(
        "agentic",
        "reader-1",
        phase="Pending",
        containers=[container_status("reader", waiting=("CreateContainerConfigError", 'secret "db" not found'))],
    )

    diagnosis = diagnose_pod(pod, [])

    assert diagnosis.findings == [
        "The container 'reader' cannot be created (CreateContainerConfigError): secret \"db\" not found"
    ]
    assert "Create the Secret or ConfigMap" in diagnosis.next_steps[0]


def test_unschedulable_pod_uses_the_newest_scheduler_event() -> None:
    pod = build_pod(
        "agentic",
        "report-1",
        phase="Pending",
        node=None,
        conditions=[
            V1PodCondition(type="PodScheduled", status="False", reason="Unschedulable", message="0/3 nodes: old")
        ],
    )
    events = [
        build_event("agentic", "Pod", "report-1", "FailedScheduling", "0/3 nodes: stale", last_seen=NOW),
        build_event(
            "agentic",
            "Pod",
            "report-1",
            "FailedScheduling",
            "0/3 nodes are available: 3 Insufficient cpu.",
            last_seen=NOW + timedelta(minutes=1),
        ),
    ]

    diagnosis = diagnose_pod(pod, events)

    assert diagnosis.findings == [
        "The pod cannot be scheduled onto any node: 0/3 nodes are available: 3 Insufficient cpu."
    ]
    assert len(diagnosis.next_steps) == 1
    assert "Lower the pod's CPU/memory requests" in diagnosis.next_steps[0]


def test_unschedulable_pod_without_events_uses_the_condition() -> None:
    message = "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
    pod = build_pod(
        "agentic",
        "pinned-1",
        phase="Pending",
        node=None,
        conditions=[V1PodCondition(type="PodScheduled", status="False", reason="Unschedulable", message=message)],
    )

    diagnosis = diagnose_pod(pod, [])

    assert message in diagnosis.findings[0]
    assert any("nodeSelector/affinity" in step for step in diagnosis.next_steps)


def test_failed_container_reports_the_exit_code_meaning() -> None:
    pod = build_pod("agentic", "job-1", phase="Failed", containers=[container_status("job", terminated=("Error", 127))])

    diagnosis = diagnose_pod(pod, [])

    assert diagnosis.findings == [
        "The container 'job' exited with code 127 (Error): the command was not found in the image."
    ]
    assert diagnosis.log_requests == [LogRequest("job", previous=False)]


def test_failing_init_container_is_named_as_such() -> None:
    pod = build_pod(
        "agentic",
        "init-1",
        phase="Pending",
        init_containers=[
            container_status("migrate", restarts=3, waiting=("CrashLoopBackOff", ""), last_terminated=("Error", 2))
        ],
        containers=[container_status("app", waiting=("PodInitializing", ""))],
    )

    diagnosis = diagnose_pod(pod, [])

    assert "init container 'migrate' is crash-looping" in diagnosis.findings[0]
    assert diagnosis.log_requests == [LogRequest("migrate", previous=True)]


def test_running_but_unready_with_failing_probe() -> None:
    pod = build_pod("agentic", "web-1", containers=[container_status("web", ready=False)])
    events = [build_event("agentic", "Pod", "web-1", "Unhealthy", "Readiness probe failed: HTTP probe failed with 503")]

    diagnosis = diagnose_pod(pod, events)

    assert "container 'web' is running but not ready" in diagnosis.findings[0]
    assert "Readiness probe failed: HTTP probe failed with 503" in diagnosis.findings[1]
    assert diagnosis.log_requests == []


def test_volume_mount_failure_comes_from_events() -> None:
    pod = build_pod(
        "agentic", "db-1", phase="Pending", containers=[container_status("db", waiting=("ContainerCreating", ""))]
    )
    events = [
        build_event("agentic", "Pod", "db-1", "FailedMount", 'MountVolume.SetUp failed: configmap "db-conf" not found')
    ]

    diagnosis = diagnose_pod(pod, events)

    assert diagnosis.findings == [
        'A volume could not be mounted (FailedMount): MountVolume.SetUp failed: configmap "db-conf" not found'
    ]


def test_evicted_pod() -> None:
    pod = build_pod(
        "agentic",
        "cache-1",
        phase="Failed",
        reason="Evicted",
        message="The node was low on resource: memory.",
        containers=[container_status("cache", terminated=("ContainerStatusUnknown", 137))],
    )

    diagnosis = diagnose_pod(pod, [])

    assert diagnosis.findings[0] == "The pod was evicted by its node: The node was low on resource: memory."


def test_healthy_pod_has_no_problems_and_no_logs() -> None:
    pod = build_pod("k8s-admin", "web-1", containers=[container_status("web"), container_status("proxy")])

    diagnosis = diagnose_pod(pod, [build_event("k8s-admin", "Pod", "web-1", "Started", "ok", event_type="Normal")])

    assert diagnosis.healthy
    assert diagnosis.findings == ["No problems found: the pod is running and all its containers are ready."]
    assert diagnosis.next_steps == []
    assert diagnosis.log_requests == []


def test_completed_pod_is_healthy() -> None:
    pod = build_pod(
        "agentic", "job-2", phase="Succeeded", containers=[container_status("job", terminated=("Completed", 0))]
    )

    assert diagnose_pod(pod, []).healthy


def test_long_cluster_messages_are_cut() -> None:
    pod = build_pod(
        "agentic",
        "reader-2",
        phase="Pending",
        containers=[container_status("reader", waiting=("CreateContainerError", "x" * 5000))],
    )

    finding = diagnose_pod(pod, []).findings[0]

    assert len(finding) < 450
    assert finding.endswith("...")


@pytest.mark.parametrize(
    ("exit_code", "meaning"),
    [(1, "general application error"), (137, "SIGKILL"), (143, "SIGTERM"), (130, "signal 2"), (3, "application")],
)
def test_exit_code_meanings(exit_code: int, meaning: str) -> None:
    assert meaning in exit_code_meaning(exit_code)
