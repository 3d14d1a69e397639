"""Builders of Kubernetes objects as the official client's own models, filled in the way a real cluster fills them.

Used by the fake API server (``tests.support.fake_kube``) and directly by unit tests of pure logic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from kubernetes.client import (
    CoreV1Event,
    V1Container,
    V1ContainerState,
    V1ContainerStateRunning,
    V1ContainerStateTerminated,
    V1ContainerStateWaiting,
    V1ContainerStatus,
    V1Deployment,
    V1DeploymentSpec,
    V1DeploymentStatus,
    V1LabelSelector,
    V1Node,
    V1NodeCondition,
    V1NodeStatus,
    V1NodeSystemInfo,
    V1ObjectMeta,
    V1ObjectReference,
    V1Pod,
    V1PodCondition,
    V1PodSpec,
    V1PodStatus,
    V1PodTemplateSpec,
    V1ResourceRequirements,
)

DEFAULT_IMAGE = "registry.example.com/agentic/app:1.4.2"


def _uid(*parts: str) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def container_status(
    name: str,
    *,
    image: str = DEFAULT_IMAGE,
    ready: bool | None = None,
    restarts: int = 0,
    waiting: tuple[str, str] | None = None,
    terminated: tuple[str, int] | None = None,
    last_terminated: tuple[str, int] | None = None,
    started_at: datetime | None = None,
) -> V1ContainerStatus:
    """A container's status: running unless ``waiting`` (reason, message) or ``terminated`` (reason, exit code).

    ``ready`` defaults to whether it is running.
    """
    moment = started_at or datetime.now(UTC) - timedelta(minutes=5)
    if waiting is not None:
        state = V1ContainerState(waiting=V1ContainerStateWaiting(reason=waiting[0], message=waiting[1]))
    elif terminated is not None:
        state = V1ContainerState(
            terminated=V1ContainerStateTerminated(
                reason=terminated[0], exit_code=terminated[1], started_at=moment, finished_at=moment
            )
        )
    else:
        state = V1ContainerState(running=V1ContainerStateRunning(started_at=moment))
    last_state = V1ContainerState()
    if last_terminated is not None:
        last_state = V1ContainerState(
            terminated=V1ContainerStateTerminated(
                reason=last_terminated[0],
                exit_code=last_terminated[1],
                started_at=moment - timedelta(seconds=40),
                finished_at=moment - timedelta(seconds=10),
                container_id=f"containerd://{_uid(name, 'previous')}",
            )
        )
    return V1ContainerStatus(
        name=name,
        image=image,
        image_id="" if waiting else f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}",
        ready=(waiting is None and terminated is None) if ready is None else ready,
        restart_count=restarts,
        started=waiting is None and terminated is None,
        state=state,
        last_state=last_state,
    )


def build_pod(
    namespace: str,
    name: str,
    *,
    phase: str = "Running",
    containers: Sequence[V1ContainerStatus] = (),
    init_containers: Sequence[V1ContainerStatus] = (),
    labels: Mapping[str, str] | None = None,
    node: str | None = "ip-10-0-1-10.us-west-2.compute.internal",
    created: datetime | None = None,
    memory_limits: Mapping[str, str] | None = None,
    conditions: Sequence[V1PodCondition] | None = None,
    reason: str | None = None,
    message: str | None = None,
) -> V1Pod:
    """A pod whose spec lists the containers its statuses name; conditions follow readiness unless given.

    Without ``containers`` the pod has one container, "app", that has no status yet (as before scheduling).
    """
    created = created or datetime.now(UTC) - timedelta(hours=1)
    statuses = list(containers)
    limits = memory_limits or {}

    def spec_container(status: V1ContainerStatus) -> V1Container:
        memory = limits.get(status.name)
        resources = V1ResourceRequirements(limits={"memory": memory}) if memory else V1ResourceRequirements()
        return V1Container(name=status.name, image=status.image, resources=resources)

    all_ready = bool(statuses) and all(status.ready for status in statuses)
    if conditions is None:
        conditions = [
            V1PodCondition(type="PodScheduled", status="True", last_transition_time=created),
            V1PodCondition(type="Initialized", status="True", last_transition_time=created),
            V1PodCondition(
                type="ContainersReady",
                status=str(all_ready),
                reason=None if all_ready else "ContainersNotReady",
                last_transition_time=created,
            ),
            V1PodCondition(
                type="Ready",
                status=str(all_ready),
                reason=None if all_ready else "ContainersNotReady",
                last_transition_time=created,
            ),
        ]
    return V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=V1ObjectMeta(
            name=name,
            namespace=namespace,
            uid=_uid(namespace, name),
            labels=dict(labels or {}),
            creation_timestamp=created,
            resource_version="1000",
        ),
        spec=V1PodSpec(
            containers=[spec_container(status) for status in statuses]
            or [V1Container(name="app", image=DEFAULT_IMAGE)],
            init_containers=[spec_container(status) for status in init_containers] or None,
            node_name=node,
            restart_policy="Always",
        ),
        status=V1PodStatus(
            phase=phase,
            conditions=list(conditions),
            container_statuses=statuses or None,
            init_container_statuses=list(init_containers) or None,
            host_ip="10.0.1.10" if node else None,
            pod_ip="10.0.1.77" if node else None,
            start_time=created if node else None,
            qos_class="Burstable",
            reason=reason,
            message=message,
        ),
    )


def build_node(
    name: str,
    *,
    ready: bool = True,
    roles: Sequence[str] = (),
    cpu: str = "3920m",
    memory: str = "15214976Ki",
    kubelet_version: str = "v1.33.1-eks-b9f9b3b",
    created: datetime | None = None,
) -> V1Node:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "m6i.xlarge",
        **{f"node-role.kubernetes.io/{role}": "" for role in roles},
    }
    ready_condition = V1NodeCondition(
        type="Ready",
        status="True" if ready else "Unknown",
        reason="KubeletReady" if ready else "NodeStatusUnknown",
        message="kubelet is posting ready status" if ready else "Kubelet stopped posting node status.",
    )
    return V1Node(
        api_version="v1",
        kind="Node",
        metadata=V1ObjectMeta(
            name=name,
            uid=_uid(name),
            labels=labels,
            creation_timestamp=created or datetime.now(UTC) - timedelta(days=3),
        ),
        status=V1NodeStatus(
            allocatable={"cpu": cpu, "memory": memory, "pods": "58"},
            capacity={"cpu": "4", "memory": "16073088Ki", "pods": "58"},
            conditions=[
                V1NodeCondition(type="MemoryPressure", status="False", reason="KubeletHasSufficientMemory"),
                ready_condition,
            ],
            node_info=V1NodeSystemInfo(
                architecture="amd64",
                boot_id=_uid(name, "boot"),
                container_runtime_version="containerd://1.7.27",
                kernel_version="6.1.134-152.225.amzn2023.x86_64",
                kube_proxy_version="",
                kubelet_version=kubelet_version,
                machine_id=_uid(name, "machine").replace("-", ""),
                operating_system="linux",
                os_image="Amazon Linux 2023.7.20250527",
                system_uuid=_uid(name, "system"),
            ),
        ),
    )


def build_deployment(
    namespace: str, name: str, *, replicas: int | None, available: int, labels: Mapping[str, str] | None = None
) -> V1Deployment:
    selector = dict(labels or {"app": name})
    return V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=V1ObjectMeta(
            name=name,
            namespace=namespace,
            uid=_uid("deployment", namespace, name),
            labels=selector,
            generation=1,
            creation_timestamp=datetime.now(UTC) - timedelta(days=1),
        ),
        spec=V1DeploymentSpec(
            replicas=replicas,
            selector=V1LabelSelector(match_labels=selector),
            template=V1PodTemplateSpec(
                metadata=V1ObjectMeta(labels=selector),
                spec=V1PodSpec(containers=[V1Container(name="app", image=DEFAULT_IMAGE)]),
            ),
        ),
        status=V1DeploymentStatus(
            observed_generation=1,
            replicas=replicas,
            ready_replicas=available or None,
            available_replicas=available or None,
            updated_replicas=replicas,
            unavailable_replicas=(replicas or 0) - available or None,
        ),
    )


def build_event(
    namespace: str,
    involved_kind: str,
    involved_name: str,
    reason: str,
    message: str,
    *,
    event_type: str = "Warning",
    count: int = 1,
    last_seen: datetime | None = None,
) -> CoreV1Event:
    """An event in the core/v1 form kubelets and the scheduler still write (lastTimestamp and count)."""
    moment = last_seen or datetime.now(UTC)
    object_namespace = namespace if involved_kind != "Node" else None
    unique = hashlib.sha256(f"{involved_name}{reason}{moment.isoformat()}".encode()).hexdigest()[:16]
    return CoreV1Event(
        api_version="v1",
        kind="Event",
        metadata=V1ObjectMeta(
            name=f"{involved_name}.{unique}", namespace=namespace, creation_timestamp=moment - timedelta(minutes=1)
        ),
        involved_object=V1ObjectReference(
            kind=involved_kind,
            name=involved_name,
            namespace=object_namespace,
            api_version="v1",
            uid=_uid(namespace, involved_name),
        ),
        reason=reason,
        message=message,
        type=event_type,
        count=count,
        first_timestamp=moment - timedelta(minutes=count),
        last_timestamp=moment,
        reporting_component="kubelet" if involved_kind == "Pod" else "node-controller",
        reporting_instance="",
    )
