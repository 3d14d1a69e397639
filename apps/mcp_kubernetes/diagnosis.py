"""Why a pod is unhealthy, in plain language: pure rules over the pod and its events, no I/O.

``diagnose_pod`` reads what the kubelet and scheduler recorded (phase, conditions, container states, last
terminations, events) and returns findings, next steps for a person to take, and which containers' logs are worth
reading (``previous=True`` when the interesting output belongs to the instance that already crashed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kubernetes.client import CoreV1Event, V1ContainerStateTerminated, V1ContainerStatus, V1Pod

from apps.mcp_kubernetes.events import newest_first
from apps.mcp_kubernetes.pod_facts import container_statuses, init_container_statuses
from apps.mcp_kubernetes.text import shorten

_MAX_QUOTED = 300

IMAGE_PULL_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"})
CONFIG_ERROR_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError"})

# 128 + n means "killed by signal n"; these are the ones worth naming.
_EXIT_CODE_MEANINGS = {
    1: "a general application error",
    2: "a usage error: wrong command-line arguments",
    126: "the command could not be executed (not executable, or permission denied)",
    127: "the command was not found in the image",
    134: "SIGABRT: the process aborted itself",
    137: "SIGKILL: killed from outside, usually for memory or after failing its liveness probe",
    139: "SIGSEGV: the process crashed with a segmentation fault",
    143: "SIGTERM: it was asked to stop",
}


@dataclass(frozen=True)
class LogRequest:
    container: str
    previous: bool
    """Read the previous instance's logs: the current one restarted after the failure worth seeing."""


@dataclass
class Diagnosis:
    findings: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    log_requests: list[LogRequest] = field(default_factory=list)
    healthy: bool = False

    def found(self, finding: str, *steps: str) -> None:
        self.findings.append(finding)
        self.next_steps.extend(step for step in steps if step not in self.next_steps)

    def read_logs(self, container: str, *, previous: bool) -> None:
        if all(request.container != container for request in self.log_requests):
            self.log_requests.append(LogRequest(container, previous))


def diagnose_pod(pod: V1Pod, events: Sequence[CoreV1Event]) -> Diagnosis:
    """``events`` are the pod's own events, in any order."""
    diagnosis = Diagnosis()
    events = newest_first(events, len(events))
    status = pod.status
    phase = (status.phase if status else None) or "Unknown"
    if status and status.reason == "Evicted":
        diagnosis.found(
            f"The pod was evicted by its node: {_quote(status.message)}",
            "Check the node's memory and disk pressure, and set resource requests so the scheduler places the pod "
            "where it fits; an evicted pod is not restarted, its controller creates a new one.",
        )
    if phase == "Pending":
        _diagnose_scheduling(pod, events, diagnosis)
    limits = _memory_limits(pod)
    for container_status in init_container_statuses(pod):
        _diagnose_container(container_status, f"init container '{container_status.name}'", limits, events, diagnosis)
    for container_status in container_statuses(pod):
        _diagnose_container(container_status, f"container '{container_status.name}'", limits, events, diagnosis)
    _diagnose_from_events(events, diagnosis, pod_ready=_all_ready(pod))
    if phase == "Unknown" and not diagnosis.findings:
        diagnosis.found(
            "The pod's state is Unknown: its node has stopped reporting to the API server.",
            "Check the node's health and network; pods on a lost node are rescheduled once it is marked NotReady.",
        )
    if phase == "Failed" and not diagnosis.findings:
        diagnosis.found(f"The pod failed: {_quote(status.message if status else None)}")
    if not diagnosis.findings:
        _describe_quiet_pod(pod, phase, diagnosis)
    return diagnosis


def exit_code_meaning(exit_code: int) -> str:
    if exit_code in _EXIT_CODE_MEANINGS:
        return _EXIT_CODE_MEANINGS[exit_code]
    if exit_code > 128:
        return f"killed by signal {exit_code - 128}"
    return "an application error"


def _diagnose_scheduling(pod: V1Pod, events: Sequence[CoreV1Event], diagnosis: Diagnosis) -> None:
    conditions = (pod.status.conditions if pod.status else None) or []
    unscheduled = next((c for c in conditions if c.type == "PodScheduled" and c.status == "False"), None)
    failed_scheduling = [event for event in events if event.reason == "FailedScheduling"]
    if unscheduled is None and not failed_scheduling:
        return
    # The newest FailedScheduling event is usually more current than the condition's message.
    message = (failed_scheduling[0].message if failed_scheduling else None) or (
        unscheduled.message if unscheduled else None
    )
    lowered = (message or "").lower()
    steps = []
    if "insufficient" in lowered:
        steps.append(
            "Lower the pod's CPU/memory requests, or add node capacity (Karpenter or the cluster autoscaler add "
            "nodes only if the pod fits a node type they may create)."
        )
    if "taint" in lowered:
        steps.append("Give the pod a toleration for the nodes' taints, or make untainted nodes available.")
    if "affinity" in lowered or "selector" in lowered:
        steps.append("Check that the pod's nodeSelector/affinity labels match labels that existing nodes carry.")
    if "persistentvolumeclaim" in lowered or "volume" in lowered:
        steps.append("Check that the pod's PersistentVolumeClaims exist and are Bound.")
    if not steps:
        steps.append("Compare the pod's requests, nodeSelector, affinity and tolerations with the available nodes.")
    diagnosis.found(f"The pod cannot be scheduled onto any node: {_quote(message)}", *steps)


def _diagnose_container(
    container_status: V1ContainerStatus,
    label: str,
    memory_limits: dict[str, str],
    events: Sequence[CoreV1Event],
    diagnosis: Diagnosis,
) -> None:
    state, last = container_status.state, container_status.last_state
    waiting = state.waiting if state else None
    terminated = state.terminated if state else None
    last_terminated = last.terminated if last else None
    restarts = container_status.restart_count
    name = container_status.name
    oom_killed = any(t is not None and t.reason == "OOMKilled" for t in (terminated, last_terminated))
    memory_limit = memory_limits.get(name)

    if waiting and waiting.reason in IMAGE_PULL_REASONS:
        # The waiting message only says "Back-off pulling image"; the kubelet's Failed event carries the registry's
        # answer (not found, unauthorized, timeout), which decides what to fix.
        pull_failure = next(
            (e.message for e in events if e.reason == "Failed" and e.message and container_status.image in e.message),
            None,
        )
        diagnosis.found(
            f"The {label} cannot start because image '{container_status.image}' cannot be pulled "
            f"({waiting.reason}): {_quote(pull_failure or waiting.message)}",
            f"Check that the image '{container_status.image}' and its tag exist in the registry and are spelled "
            "correctly.",
            "If the registry is private, check the pod's imagePullSecrets and the nodes' registry credentials.",
        )
        return
    if waiting and waiting.reason in CONFIG_ERROR_REASONS:
        diagnosis.found(
            f"The {label} cannot be created ({waiting.reason}): {_quote(waiting.message)}",
            "Create the Secret or ConfigMap it refers to, or fix the reference (env, envFrom, volumes) in the pod "
            "spec.",
        )
        return
    if oom_killed:
        limit_text = f"its memory limit of {memory_limit}" if memory_limit else "the memory available on its node"
        diagnosis.found(
            f"The {label} was killed for using more memory than {limit_text} (OOMKilled); it has restarted "
            f"{restarts} times.",
            "Raise the container's memory limit (resources.limits.memory) above its real peak use, or find what "
            "makes the application's memory grow.",
        )
    if waiting and waiting.reason == "CrashLoopBackOff":
        last_run = _describe_termination(last_terminated)
        diagnosis.found(
            f"The {label} is crash-looping (CrashLoopBackOff): it has restarted {restarts} times and Kubernetes "
            f"waits longer before each new start.{last_run}",
            "Read the previous instance's logs below for the error that made it exit, and fix that cause "
            "(configuration, a dependency it cannot reach, a bad command).",
        )
        diagnosis.read_logs(name, previous=True)
        return
    if terminated and terminated.exit_code != 0:
        if not oom_killed:
            diagnosis.found(
                f"The {label} exited with code {terminated.exit_code} ({terminated.reason or 'Error'}): "
                f"{exit_code_meaning(terminated.exit_code)}.",
                "Read the container's logs below for the error that made it exit.",
            )
        diagnosis.read_logs(name, previous=False)
        return
    if restarts > 0 and last_terminated and last_terminated.exit_code != 0:
        if not oom_killed:
            diagnosis.found(
                f"The {label} has restarted {restarts} times.{_describe_termination(last_terminated)}",
                "Read the previous instance's logs below for why it exited.",
            )
        diagnosis.read_logs(name, previous=True)
        return
    if state and state.running and not container_status.ready:
        diagnosis.found(
            f"The {label} is running but not ready: its readiness probe is failing or it is still starting.",
            "Check the readiness probe's path, port and initialDelaySeconds against how the application starts.",
        )


def _diagnose_from_events(events: Sequence[CoreV1Event], diagnosis: Diagnosis, *, pod_ready: bool) -> None:
    """Causes that only events record: volumes, sandboxes (networking), failing probes."""
    seen: set[str] = set()
    for event in events:  # newest first: one finding per reason, from its latest occurrence
        reason = event.reason or ""
        if event.type != "Warning" or reason in seen:
            continue
        seen.add(reason)
        if reason in ("FailedMount", "FailedAttachVolume"):
            diagnosis.found(
                f"A volume could not be mounted ({reason}): {_quote(event.message)}",
                "Check that the Secret, ConfigMap or PersistentVolumeClaim the volume names exists, and that the "
                "volume can attach in the node's availability zone.",
            )
        elif reason == "FailedCreatePodSandBox":
            diagnosis.found(
                f"The pod's sandbox (its network namespace) could not be created: {_quote(event.message)}",
                "Check the CNI plugin (aws-node on EKS) and the free IP addresses in the node's subnet.",
            )
        elif reason == "Unhealthy" and not pod_ready:
            diagnosis.found(
                f"A health probe is failing: {_quote(event.message)}",
                "Check the probe's path, port and timings against how the application starts and responds.",
            )


def _describe_quiet_pod(pod: V1Pod, phase: str, diagnosis: Diagnosis) -> None:
    if phase == "Succeeded":
        diagnosis.found("The pod ran to completion successfully; nothing is wrong with it.")
        diagnosis.healthy = True
    elif phase == "Running" and _all_ready(pod):
        diagnosis.found("No problems found: the pod is running and all its containers are ready.")
        diagnosis.healthy = True
    elif phase == "Pending":
        diagnosis.found(
            "The pod is pending and no failure has been recorded yet: it is probably pulling images or starting.",
            "Look again in a minute; if it is still pending, its events will say why.",
        )
    else:
        diagnosis.found(f"The pod is {phase} and no specific failure was recorded.")


def _describe_termination(terminated: V1ContainerStateTerminated | None) -> str:
    if terminated is None:
        return ""
    reason = terminated.reason or "Error"
    return (
        f" Its last run ended with {reason}, exit code {terminated.exit_code}: "
        f"{exit_code_meaning(terminated.exit_code)}."
    )


def _memory_limits(pod: V1Pod) -> dict[str, str]:
    containers = [*(pod.spec.init_containers or []), *pod.spec.containers] if pod.spec else []
    return {
        container.name: container.resources.limits["memory"]
        for container in containers
        if container.resources and container.resources.limits and "memory" in container.resources.limits
    }


def _all_ready(pod: V1Pod) -> bool:
    statuses = container_statuses(pod)
    return bool(statuses) and all(status.ready for status in statuses)


def _quote(text: str | None) -> str:
    return shorten(text, _MAX_QUOTED) if text else "no details were given"
