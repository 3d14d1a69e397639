"""What ``pulumi up`` adds to the fake Kubernetes API: Karpenter NodePools, ConfigMaps, and the service proxy.

Served by ``tests.support.fake_kube`` from ``FakeKubeState.node_pools``, ``config_maps`` and ``proxied_services``:

    GET /apis/karpenter.sh/v1/nodepools/{name}
    GET /api/v1/namespaces/{ns}/configmaps/{name}
    GET /api/v1/namespaces/{ns}/services/{name}[:port]/proxy/{path}

Shapes follow the real API: a NodePool's conditions are those of Karpenter v1.14.1 (``pkg/apis/v1/nodepool_status.go``:
Ready is set from ValidationSucceeded and NodeClassReady; ``pkg/controllers/nodepool/readiness/controller.go`` for the
reasons), Prometheus's targets answer is its HTTP API's (``/api/v1/targets``: ``activeTargets`` with ``scrapePool``,
``health`` up/down/unknown, ``lastError``), and the proxy fails as the API server's does (pkg/registry/core/service:
404 for an unknown Service, 503 "no endpoints available for service" when it has no ready endpoint with that port).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubernetes.client import ApiClient, V1ConfigMap, V1ObjectMeta, V1Status, V1StatusDetails
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from tests.support.fake_kube_state import FakeKubeState, ProxiedService

__all__ = [
    "ProxiedService",
    "dashboard_config_map",
    "get_config_map",
    "get_node_pool",
    "node_pool",
    "prometheus_targets",
    "service_proxy",
]

TRANSITION_TIME = "2026-01-01T00:00:00Z"
_serializer = ApiClient()  # the wire form the client itself sends: camelCase keys, no unset fields


def node_pool(name: str = "default", *, node_class_ready: bool = True, generation: int = 1) -> dict[str, Any]:
    """A karpenter.sh/v1 NodePool as Karpenter leaves it: Ready, or not Ready because its NodeClass is missing."""

    def condition(kind: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": TRANSITION_TIME,
            "observedGeneration": generation,
        }

    if node_class_ready:
        node_class = condition("NodeClassReady", "True", "NodeClassReady")
        ready = condition("Ready", "True", "Ready")
    else:
        node_class = condition("NodeClassReady", "False", "NodeClassNotFound", "NodeClass not found on cluster")
        ready = condition("Ready", "False", "UnhealthyDependents", "NodeClassReady=False")
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": name, "generation": generation, "resourceVersion": "1000", "uid": f"uid-{name}"},
        "spec": {
            "template": {
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": name},
                    "requirements": [
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                    ],
                }
            },
            "limits": {"cpu": "100"},
        },
        "status": {
            "conditions": [
                condition("ValidationSucceeded", "True", "ValidationSucceeded"),
                node_class,
                condition("NodeRegistrationHealthy", "Unknown", "AwaitingReconciliation", "awaiting reconciliation"),
                ready,
            ]
        },
    }


def prometheus_targets(pools: Mapping[str, Sequence[tuple[str, str]]]) -> dict[str, Any]:
    """Prometheus's ``/api/v1/targets`` answer: per scrape pool, targets as (health, lastError)."""
    active: list[dict[str, Any]] = []
    for pool, targets in pools.items():
        _, namespace, service, _ = pool.split("/")  # serviceMonitor/<namespace>/<name>/<endpoint>
        for index, (health, last_error) in enumerate(targets):
            address = f"10.0.{len(active) // 250}.{len(active) % 250 + 2}:8000"
            labels = {
                "container": "app",
                "endpoint": "http",
                "instance": address,
                "job": f"{service}-service",
                "namespace": namespace,
                "pod": f"{service}-{index}",
                "service": f"{service}-service",
            }
            active.append(
                {
                    "discoveredLabels": {"__address__": address, "__metrics_path__": "/metrics", "job": pool},
                    "labels": labels,
                    "scrapePool": pool,
                    "scrapeUrl": f"http://{address}/metrics",
                    "globalUrl": f"http://{address}/metrics",
                    "lastError": last_error,
                    "lastScrape": TRANSITION_TIME,
                    "lastScrapeDuration": 0.004,
                    "health": health,
                    "scrapeInterval": "30s",
                    "scrapeTimeout": "10s",
                }
            )
    return {"status": "success", "data": {"activeTargets": active, "droppedTargets": [], "droppedTargetCounts": {}}}


def dashboard_config_map(namespace: str, name: str, labels: Mapping[str, str], data: Mapping[str, str]) -> V1ConfigMap:
    return V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=V1ObjectMeta(name=name, namespace=namespace, labels=dict(labels), resource_version="1000"),
        data=dict(data),
    )


def get_node_pool(request: Request, state: FakeKubeState) -> Response:
    name = request.path_params["name"]
    found = next((pool for pool in state.node_pools if pool["metadata"]["name"] == name), None)
    if found is None:
        details = V1StatusDetails(name=name, group="karpenter.sh", kind="nodepools")
        return _status(404, "NotFound", f'nodepools.karpenter.sh "{name}" not found', details)
    return JSONResponse(found)


def get_config_map(request: Request, state: FakeKubeState) -> Response:
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    found = next((cm for cm in state.config_maps if _names(cm.metadata) == (namespace, name)), None)
    if found is None:
        return _status(404, "NotFound", f'configmaps "{name}" not found', V1StatusDetails(name=name, kind="configmaps"))
    return JSONResponse(_serializer.sanitize_for_serialization(found))  # type: ignore[no-untyped-call]


def service_proxy(request: Request, state: FakeKubeState) -> Response:
    namespace = request.path_params["namespace"]
    name, _, port = request.path_params["name"].partition(":")
    service = next((s for s in state.proxied_services if (s.namespace, s.name) == (namespace, name)), None)
    if service is None:
        return _status(404, "NotFound", f'services "{name}" not found', V1StatusDetails(name=name, kind="services"))
    if not service.ready or (port and port not in service.ports):
        return _status(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
    answer = service.answers.get(request.path_params["path"])
    if answer is None:
        return PlainTextResponse("404 page not found\n", status_code=404)  # the backend's own 404, proxied as is
    return JSONResponse(answer)


def _names(metadata: V1ObjectMeta | None) -> tuple[str | None, str | None]:
    return (metadata.namespace, metadata.name) if metadata else (None, None)


def _status(code: int, reason: str, message: str, details: V1StatusDetails | None = None) -> Response:
    status = V1Status(
        api_version="v1", kind="Status", status="Failure", code=code, reason=reason, message=message, details=details
    )
    return JSONResponse(_serializer.sanitize_for_serialization(status), status_code=code)  # type: ignore[no-untyped-call]


PROMETHEUS = ProxiedService("monitoring", "kube-prometheus-stack-prometheus", ("http-web", "reloader-web"))
"""kube-prometheus-stack 88.5.3's Prometheus Service for the release name infra/monitoring.py uses."""


def program_scrape_pools(apps_namespace: str = "agentic") -> list[str]:
    """The scrape pools the Prometheus Operator makes of the program's ServiceMonitors (infra/observability.py)."""
    from infra.observability import service_monitor  # the program's own objects, not a copy of them
    from infra.workloads import workloads

    pools = []
    for workload in workloads(apps_namespace):
        if workload.scrapes_metrics:
            monitor = service_monitor(workload)
            namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
            pools += [f"serviceMonitor/{namespace}/{name}/{i}" for i, _ in enumerate(monitor["spec"]["endpoints"])]
    return pools


def deployed_state(apps_namespace: str = "agentic", *, state: FakeKubeState | None = None) -> FakeKubeState:
    """A cluster as ``pulumi up`` leaves it: NodePool ``default`` Ready, the program's Grafana dashboard ConfigMap,
    and Prometheus scraping each of the program's ServiceMonitors (one target up in each)."""
    from infra.observability import dashboard_config_map as program_dashboard

    state = state or FakeKubeState()
    manifest = program_dashboard()
    metadata = manifest["metadata"]
    state.node_pools.append(node_pool("default"))
    state.config_maps.append(
        dashboard_config_map(metadata["namespace"], metadata["name"], metadata["labels"], manifest["data"])
    )
    targets = prometheus_targets({pool: [("up", "")] for pool in program_scrape_pools(apps_namespace)})
    state.proxied_services.append(
        ProxiedService(PROMETHEUS.namespace, PROMETHEUS.name, PROMETHEUS.ports, {"api/v1/targets": targets})
    )
    return state
