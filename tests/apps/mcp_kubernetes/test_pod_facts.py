"""Small pure pieces: kubectl-style ages and statuses, and argument validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from kubernetes.client import V1ObjectMeta

from apps.common.tools import ToolError
from apps.mcp_kubernetes.durations import human_duration, seconds_since
from apps.mcp_kubernetes.pod_facts import display_status, ready_fraction, restart_count
from apps.mcp_kubernetes.validation import validate_label_selector, validate_namespace, validate_object_name
from tests.support.kube_objects import build_pod, container_status


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "unknown"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (330, "5m30s"),
        (600, "10m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 12 * 60, "3h12m"),
        (9 * 3600, "9h"),
        (50 * 3600, "2d2h"),
        (10 * 86400, "10d"),
        (3 * 365 * 86400 + 5 * 86400, "3y5d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration_matches_kubectl(seconds: int | None, shown: str) -> None:
    assert human_duration(seconds) == shown


def test_seconds_since_treats_naive_times_as_utc_and_never_goes_negative() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    assert seconds_since(datetime(2025, 6, 1, 11, 0), now) == 3600
    assert seconds_since(now + timedelta(seconds=5), now) == 0
    assert seconds_since(None, now) is None


def test_pod_facts_over_several_containers() -> None:
    pod = build_pod(
        "agentic",
        "mixed",
        containers=[
            container_status("app", restarts=2),
            container_status("sidecar", restarts=1, waiting=("CrashLoopBackOff", ""), last_terminated=("Error", 1)),
        ],
    )

    assert ready_fraction(pod) == "1/2"
    assert restart_count(pod) == 3
    assert display_status(pod) == "CrashLoopBackOff"


def test_display_status_prefers_init_failures_and_termination() -> None:
    init_failing = build_pod(
        "agentic",
        "init",
        phase="Pending",
        init_containers=[container_status("migrate", waiting=("CrashLoopBackOff", ""))],
        containers=[container_status("app", waiting=("PodInitializing", ""))],
    )
    terminating = build_pod("agentic", "bye", containers=[container_status("app")])
    assert terminating.metadata is not None
    terminating.metadata = V1ObjectMeta(name="bye", namespace="agentic", deletion_timestamp=datetime.now(UTC))

    assert display_status(init_failing) == "Init:CrashLoopBackOff"
    assert display_status(terminating) == "Terminating"


@pytest.mark.parametrize("namespace", ["default", "k8s-admin", "a", "a" * 63, "0abc"])
def test_valid_namespaces(namespace: str) -> None:
    assert validate_namespace(namespace) == namespace


@pytest.mark.parametrize("namespace", ["", "Default", "k8s_admin", "a" * 64, "-a", "a-", "a.b", "ns\n"])
def test_invalid_namespaces(namespace: str) -> None:
    with pytest.raises(ToolError, match="DNS-1123 label"):
        validate_namespace(namespace)


def test_object_names_may_have_dots_but_not_underscores() -> None:
    assert validate_object_name("web.v2-abc", "pod") == "web.v2-abc"
    with pytest.raises(ToolError, match="Invalid deployment name 'web_v2'"):
        validate_object_name("web_v2", "deployment")
    with pytest.raises(ToolError, match="at most 253"):
        validate_object_name("a" * 254, "pod")


def test_long_values_are_shortened_in_refusals() -> None:
    with pytest.raises(ToolError) as refused:
        validate_object_name("X" * 1000, "pod")

    assert len(str(refused.value)) < 300


@pytest.mark.parametrize("selector", ["app=web", "app==web,tier!=cache", "env in (prod, staging)", "!legacy", ""])
def test_valid_label_selectors(selector: str) -> None:
    assert validate_label_selector(selector) == selector


@pytest.mark.parametrize("selector", ["app='web'", "app=web;", 'app="x"', "a=b\nc=d"])
def test_invalid_label_selectors(selector: str) -> None:
    with pytest.raises(ToolError, match="Invalid label selector"):
        validate_label_selector(selector)
