"""Facts about one pod that several tools report: readiness, restarts, and the status kubectl would print."""

from __future__ import annotations

from kubernetes.client import V1ContainerStatus, V1Pod


def container_statuses(pod: V1Pod) -> list[V1ContainerStatus]:
    return list(pod.status.container_statuses or []) if pod.status else []


def init_container_statuses(pod: V1Pod) -> list[V1ContainerStatus]:
    return list(pod.status.init_container_statuses or []) if pod.status else []


def ready_fraction(pod: V1Pod) -> str:
    """ "ready/total" over the pod's regular containers, as kubectl's READY column."""
    total = len(pod.spec.containers) if pod.spec else len(container_statuses(pod))
    ready = sum(1 for status in container_statuses(pod) if status.ready)
    return f"{ready}/{total}"


def restart_count(pod: V1Pod) -> int:
    return sum(status.restart_count for status in container_statuses(pod))


def display_status(pod: V1Pod) -> str:
    """kubectl's STATUS column: the most specific reason available, else the phase.

    The phase alone hides the interesting cases: a CrashLoopBackOff pod is "Running", an image that cannot be
    pulled leaves it "Pending".
    """
    if pod.metadata and pod.metadata.deletion_timestamp:
        return "Terminating"
    status = pod.status
    if status is None:
        return "Unknown"
    if status.reason:
        return status.reason
    for init_status in init_container_statuses(pod):
        state = init_status.state
        if state and state.waiting and state.waiting.reason and state.waiting.reason != "PodInitializing":
            return f"Init:{state.waiting.reason}"
        if state and state.terminated and state.terminated.exit_code != 0:
            return f"Init:{state.terminated.reason or f'ExitCode:{state.terminated.exit_code}'}"
    reason: str | None = None
    for container_status in container_statuses(pod):
        state = container_status.state
        if state and state.waiting and state.waiting.reason:
            reason = state.waiting.reason
        elif state and state.terminated:
            reason = state.terminated.reason or f"ExitCode:{state.terminated.exit_code}"
        if reason and reason != "Completed":
            return reason
    return status.phase or "Unknown"
