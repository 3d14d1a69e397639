"""The fake Kubernetes API's world: a mutable, in-memory set of objects tests can read and edit.

Objects are the official client's models, so a test edits them with the same field names the tools read
(``state.deployment("k8s-admin", "web").spec.replicas``). ``default_state()`` is a small EKS-like cluster with the
failures a troubleshooting tool must recognise.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes.client import CoreV1Event, V1ConfigMap, V1Deployment, V1Node, V1Pod, V1PodCondition

from tests.support.kube_objects import (
    DEFAULT_IMAGE,
    build_deployment,
    build_event,
    build_node,
    build_pod,
    container_status,
)

FAKE_TOKEN = "fake-kube-token"

LogKey = tuple[str, str, str, bool]
"""(namespace, pod, container, previous): which instance of which container the text belongs to."""


@dataclass
class ProxiedService:
    """A Service the API server's proxy (``/services/{name}[:port]/proxy/{path}``) reaches, and what it answers.

    ``answers`` maps a path (``api/v1/targets``) to the JSON the backend sends; ``ready=False`` plays a Service
    without ready endpoints, which the API server answers with 503.
    """

    namespace: str
    name: str
    ports: tuple[str, ...]
    answers: dict[str, Any] = field(default_factory=dict)
    ready: bool = True


@dataclass
class FakeKubeState:
    pods: list[V1Pod] = field(default_factory=list)
    nodes: list[V1Node] = field(default_factory=list)
    deployments: list[V1Deployment] = field(default_factory=list)
    events: list[CoreV1Event] = field(default_factory=list)
    logs: dict[LogKey, str] = field(default_factory=dict)
    config_maps: list[V1ConfigMap] = field(default_factory=list)
    node_pools: list[dict[str, Any]] = field(default_factory=list)
    """karpenter.sh/v1 NodePools as JSON (the client has no model for custom resources)."""
    proxied_services: list[ProxiedService] = field(default_factory=list)
    token: str = FAKE_TOKEN
    """The bearer token the API accepts; any other gets 401."""
    forbidden: set[tuple[str, str]] = field(default_factory=set)
    """(METHOD or "*", path) pairs answered with 403, as RBAC would."""
    delay_seconds: float = 0.0
    """Added before every API answer, to play a slow or hung API server."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    """Held by the server while it reads or changes state; take it to edit state while requests are in flight."""

    def forbid(self, path: str, method: str = "*") -> None:
        self.forbidden.add((method.upper(), path))

    def is_forbidden(self, method: str, path: str) -> bool:
        return ("*", path) in self.forbidden or (method.upper(), path) in self.forbidden

    def pod(self, namespace: str, name: str) -> V1Pod | None:
        return next((p for p in self.pods if _is(p.metadata, namespace, name)), None)

    def deployment(self, namespace: str, name: str) -> V1Deployment | None:
        return next((d for d in self.deployments if _is(d.metadata, namespace, name)), None)

    def set_log(self, namespace: str, pod: str, container: str, text: str, *, previous: bool = False) -> None:
        self.logs[(namespace, pod, container, previous)] = text


def _is(metadata: object, namespace: str, name: str) -> bool:
    return getattr(metadata, "namespace", None) == namespace and getattr(metadata, "name", None) == name


NODE_NAMES = (
    "ip-10-0-1-10.us-west-2.compute.internal",
    "ip-10-0-2-20.us-west-2.compute.internal",
    "ip-10-0-3-30.us-west-2.compute.internal",
)
WEB_POD_SUFFIXES = ("abcde", "fghij", "klmno")
CRASHLOOP_POD = ("agentic", "api-5f7c9d8b4-x2v7q")
IMAGE_PULL_POD = ("agentic", "image-fetcher-6c8d7f9b5-qw3rt")
OOM_POD = ("agentic", "memory-hog-84b6f7c5d-zx9cb")
UNSCHEDULABLE_POD = ("agentic", "report-builder-7b9f6d5c4-lk8jh")
CONFIG_ERROR_POD = ("agentic", "settings-reader-59d8c7b6f-p4m2n")
UNSCHEDULABLE_MESSAGE = (
    "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, "
    "2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
    "2 No preemption victims found for incoming pod."
)
BAD_IMAGE = "registry.example.com/agentic/image-fetcher:v9.9.9-typo"
CRASH_LOG_LAST_LINE = "ConnectionRefusedError: [Errno 111] Connect call failed ('10.100.23.7', 5432)"


def default_state(now: datetime | None = None) -> FakeKubeState:
    """Three nodes (one NotReady), seven deployments, and pods that crash-loop, cannot pull their image, run out of
    memory, cannot be scheduled and miss a Secret, with the warning events and logs a real cluster would have."""
    now = now or datetime.now(UTC)
    node_a, node_b, _ = NODE_NAMES
    web_labels = {"app": "web", "tier": "frontend"}
    pods = [
        *(
            build_pod(
                "k8s-admin",
                f"web-7d4b9c8f6-{suffix}",
                containers=[container_status("web")],
                labels=web_labels,
                node=node,
                created=now - timedelta(hours=3.2),
            )
            for suffix, node in zip(WEB_POD_SUFFIXES, (node_a, node_b, node_a), strict=True)
        ),
        *(
            build_pod(
                "kube-system",
                f"coredns-6b9c5f8d7-{suffix}",
                containers=[container_status("coredns")],
                labels={"k8s-app": "kube-dns"},
                node=node_a,
                created=now - timedelta(hours=72),
            )
            for suffix in ("p1q2r", "s3t4u")
        ),
        build_pod(
            "agentic",
            "api-5f7c9d8b4-m8k2p",
            containers=[container_status("api")],
            labels={"app": "api"},
            created=now - timedelta(hours=1),
        ),
        build_pod(
            *CRASHLOOP_POD,
            labels={"app": "api"},
            node=node_b,
            created=now - timedelta(hours=1),
            containers=[
                container_status(
                    "api",
                    restarts=7,
                    waiting=(
                        "CrashLoopBackOff",
                        "back-off 5m0s restarting failed container=api pod=api-5f7c9d8b4-x2v7q_agentic",
                    ),
                    last_terminated=("Error", 1),
                ),
            ],
        ),
        build_pod(
            *IMAGE_PULL_POD,
            phase="Pending",
            labels={"app": "image-fetcher"},
            created=now - timedelta(hours=0.5),
            containers=[
                container_status(
                    "fetcher", image=BAD_IMAGE, waiting=("ImagePullBackOff", f'Back-off pulling image "{BAD_IMAGE}"')
                )
            ],
        ),
        build_pod(
            *OOM_POD,
            labels={"app": "memory-hog"},
            created=now - timedelta(hours=2),
            memory_limits={"hog": "128Mi"},
            containers=[
                container_status("hog", restarts=3, terminated=("OOMKilled", 137), last_terminated=("OOMKilled", 137))
            ],
        ),
        build_pod(
            *UNSCHEDULABLE_POD,
            phase="Pending",
            node=None,
            labels={"app": "report-builder"},
            created=now - timedelta(hours=0.25),
            conditions=[
                V1PodCondition(
                    type="PodScheduled",
                    status="False",
                    reason="Unschedulable",
                    message=UNSCHEDULABLE_MESSAGE,
                    last_transition_time=now - timedelta(hours=0.25),
                ),
            ],
        ),
        build_pod(
            *CONFIG_ERROR_POD,
            phase="Pending",
            labels={"app": "settings-reader"},
            created=now - timedelta(hours=0.1),
            containers=[
                container_status("reader", waiting=("CreateContainerConfigError", 'secret "settings-db" not found'))
            ],
        ),
        build_pod(
            "agentic",
            "migrate-schema-29xkq",
            phase="Succeeded",
            labels={"job-name": "migrate-schema"},
            created=now - timedelta(hours=5),
            containers=[container_status("migrate", terminated=("Completed", 0))],
        ),
    ]
    deployments = [
        build_deployment("k8s-admin", "web", replicas=3, available=3, labels=web_labels),
        build_deployment("kube-system", "coredns", replicas=2, available=2, labels={"k8s-app": "kube-dns"}),
        build_deployment("agentic", "api", replicas=2, available=1),
        build_deployment("agentic", "image-fetcher", replicas=1, available=0),
        build_deployment("agentic", "memory-hog", replicas=1, available=0),
        build_deployment("agentic", "report-builder", replicas=1, available=0),
        build_deployment("agentic", "settings-reader", replicas=1, available=0),
    ]

    def pod_event(pod: tuple[str, str], reason: str, message: str, minutes: float, **options: Any) -> CoreV1Event:
        namespace, name = pod
        return build_event(
            namespace, "Pod", name, reason, message, last_seen=now - timedelta(minutes=minutes), **options
        )

    pull_failure = (
        f'Failed to pull image "{BAD_IMAGE}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{BAD_IMAGE}": not found'
    )
    events = [
        pod_event(
            CRASHLOOP_POD,
            "BackOff",
            "Back-off restarting failed container api in pod api-5f7c9d8b4-x2v7q_agentic",
            1,
            count=31,
        ),
        pod_event(IMAGE_PULL_POD, "Failed", pull_failure, 2, count=4),
        pod_event(UNSCHEDULABLE_POD, "FailedScheduling", UNSCHEDULABLE_MESSAGE, 0.5, count=3),
        pod_event(
            OOM_POD,
            "BackOff",
            "Back-off restarting failed container hog in pod memory-hog-84b6f7c5d-zx9cb_agentic",
            3,
            count=12,
        ),
        pod_event(CONFIG_ERROR_POD, "Failed", 'Error: secret "settings-db" not found', 4, count=5),
        pod_event(
            CRASHLOOP_POD,
            "Pulled",
            f'Container image "{DEFAULT_IMAGE}" already present on machine',
            1.5,
            event_type="Normal",
            count=8,
        ),
        pod_event(("k8s-admin", "web-7d4b9c8f6-abcde"), "Started", "Started container web", 192, event_type="Normal"),
        build_event(
            "default",
            "Node",
            NODE_NAMES[2],
            "NodeNotReady",
            f"Node {NODE_NAMES[2]} status is now: NodeNotReady",
            last_seen=now - timedelta(minutes=10),
        ),
    ]
    crash_log = [f"2025-06-01T10:00:{second:02d}Z INFO loading configuration step {second}" for second in range(12)]
    crash_log += [
        "Traceback (most recent call last):",
        *(f'  File "/app/api/startup.py", line {100 + frame}, in connect' for frame in range(24)),
        CRASH_LOG_LAST_LINE,
    ]
    state = FakeKubeState(
        pods=pods,
        nodes=[
            build_node(NODE_NAMES[0], roles=("system",)),
            build_node(NODE_NAMES[1]),
            build_node(NODE_NAMES[2], ready=False),
        ],
        deployments=deployments,
        events=events,
    )
    state.set_log(*CRASHLOOP_POD, "api", "\n".join(crash_log) + "\n", previous=True)
    state.set_log(*OOM_POD, "hog", "allocating 64Mi block 1\nallocating 64Mi block 2\n")
    for suffix in WEB_POD_SUFFIXES:
        state.set_log("k8s-admin", f"web-7d4b9c8f6-{suffix}", "web", "GET /health 200 1ms\n")
    return state
