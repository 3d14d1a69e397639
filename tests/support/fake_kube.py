"""A small fake Kubernetes API server on 127.0.0.1, for tests of code that uses the official client.

It serves JSON built with the client's own models from a mutable ``FakeKubeState``:

    GET   /api/v1/pods, /api/v1/namespaces/{ns}/pods        labelSelector, fieldSelector, limit, continue
    GET   /api/v1/namespaces/{ns}/pods/{name}
    GET   /api/v1/namespaces/{ns}/pods/{name}/log           container, previous, tailLines, limitBytes
    GET   /api/v1/nodes
    GET   /api/v1/events, /api/v1/namespaces/{ns}/events    fieldSelector (type=Warning, involvedObject.name=...)
    GET   /apis/apps/v1/deployments, /apis/apps/v1/namespaces/{ns}/deployments[/{name}]
    GET   /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale
    PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale   merge or JSON patch; dryRun=All changes nothing
    GET   /version, /version/                               the server's VersionInfo (any authenticated caller)
    GET   /apis/karpenter.sh/v1/nodepools/{name}, /api/v1/namespaces/{ns}/configmaps/{name},
          /api/v1/namespaces/{ns}/services/{name}[:port]/proxy/{path}    (tests.support.fake_kube_platform)

Like the real API server it answers 401 to a wrong bearer token, 403 (with RBAC's wording) for paths the state
forbids, 404 Status objects for unknown objects and paths, and 400/422 for bad selectors and patches. Every request
is recorded, so tests can assert what a client asked for, and scale patches are counted.

    with run_fake_kube(default_state()) as kube:
        access = ClusterAccess.from_kubeconfig(kube.kubeconfig)
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client import (
    ApiClient,
    CoreV1EventList,
    V1DeploymentList,
    V1ListMeta,
    V1NodeList,
    V1ObjectMeta,
    V1PodList,
    V1Scale,
    V1ScaleSpec,
    V1ScaleStatus,
    V1Status,
    V1StatusDetails,
    VersionInfo,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.fake_kube_platform import get_config_map, get_node_pool, service_proxy
from tests.support.fake_kube_selectors import (
    SelectorError,
    decode_continue,
    encode_continue,
    field_selector,
    label_selector,
)
from tests.support.fake_kube_state import FAKE_TOKEN, FakeKubeState, default_state
from tests.support.servers import serve_in_thread

__all__ = ["FAKE_TOKEN", "FakeKube", "FakeKubeState", "RecordedRequest", "default_state", "run_fake_kube"]

SERVICE_ACCOUNT = "system:serviceaccount:k8s-admin:k8s-mcp"
_serializer = ApiClient()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any = None


@dataclass
class FakeKube:
    """A running fake: where it is, the state it serves (swap or edit it freely), and what it was asked."""

    url: str
    kubeconfig: Path
    state: FakeKubeState
    requests: list[RecordedRequest] = field(default_factory=list)
    scale_patches_applied: int = 0
    scale_patches_dry_run: int = 0

    def reset(self, state: FakeKubeState | None = None) -> None:
        """Serve ``state`` (or a fresh default) and forget recorded requests and counts."""
        self.state = state or default_state()
        self.requests.clear()
        self.scale_patches_applied = self.scale_patches_dry_run = 0

    def requests_to(self, path: str, method: str = "GET") -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path and r.method == method]


@contextmanager
def run_fake_kube(state: FakeKubeState | None = None) -> Iterator[FakeKube]:
    """Serve ``state`` (default: ``default_state()``) on a free loopback port until the block ends."""
    with tempfile.TemporaryDirectory(prefix="fake-kube-") as directory:
        kube = FakeKube(url="", kubeconfig=Path(directory, "kubeconfig"), state=state or default_state())
        with serve_in_thread(create_app(kube), ready_path="/healthz") as url:
            kube.url = url
            write_kubeconfig(kube.kubeconfig, url, token=kube.state.token)
            yield kube


def write_kubeconfig(path: Path, server_url: str, *, token: str = FAKE_TOKEN, namespace: str = "default") -> Path:
    """A kubeconfig with one context that reaches ``server_url`` with a bearer token, as kubectl would read it."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake-kube", "cluster": {"server": server_url}}],
        "users": [{"name": "fake-user", "user": {"token": token}}],
        "contexts": [
            {"name": "fake-kube", "context": {"cluster": "fake-kube", "user": "fake-user", "namespace": namespace}}
        ],
        "current-context": "fake-kube",
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


Handler = Callable[[Request, FakeKubeState], Response]


def create_app(kube: FakeKube) -> Starlette:
    def api(handler: Handler, resource: str, group: str = "") -> Callable[[Request], Awaitable[Response]]:
        """Wrap ``handler`` in what every API request goes through: recording, delay, authentication, RBAC."""

        async def endpoint(request: Request) -> Response:
            try:
                request.state.body = await request.json() if request.method == "PATCH" else None
            except ValueError:
                return _status(400, "BadRequest", "the request body is not valid JSON")
            kube.requests.append(
                RecordedRequest(request.method, request.url.path, dict(request.query_params), request.state.body)
            )
            state = kube.state
            if state.delay_seconds:
                await asyncio.sleep(state.delay_seconds)
            if request.headers.get("authorization") != f"Bearer {state.token}":
                return _status(401, "Unauthorized", "Unauthorized")
            if state.is_forbidden(request.method, request.url.path):
                return _forbidden(request, resource, group)
            with state.lock:
                try:
                    return handler(request, state)
                except SelectorError as exc:
                    return _status(400, "BadRequest", str(exc))

        return endpoint

    def counted_scale(request: Request, state: FakeKubeState) -> Response:
        response = _scale(request, state)
        if request.method == "PATCH" and response.status_code == 200:
            if request.query_params.get("dryRun") == "All":
                kube.scale_patches_dry_run += 1
            else:
                kube.scale_patches_applied += 1
        return response

    ns = "/namespaces/{namespace}"
    routes = [
        Route("/healthz", lambda request: PlainTextResponse("ok")),
        # A non-resource URL every authenticated caller may read (ClusterRole system:public-info-viewer grants
        # both spellings; the Python client asks for the second).
        Route("/version", api(_version, "")),
        Route("/version/", api(_version, "")),
        Route("/api/v1/pods", api(_list_pods, "pods")),
        Route(f"/api/v1{ns}/pods", api(_list_pods, "pods")),
        Route(f"/api/v1{ns}/pods/{{name}}", api(_get_pod, "pods")),
        Route(f"/api/v1{ns}/pods/{{name}}/log", api(_get_pod_log, "pods/log")),
        Route("/api/v1/nodes", api(_list_nodes, "nodes")),
        Route("/api/v1/events", api(_list_events, "events")),
        Route(f"/api/v1{ns}/events", api(_list_events, "events")),
        Route("/apis/apps/v1/deployments", api(_list_deployments, "deployments", "apps")),
        Route(f"/apis/apps/v1{ns}/deployments", api(_list_deployments, "deployments", "apps")),
        Route(f"/apis/apps/v1{ns}/deployments/{{name}}", api(_get_deployment, "deployments", "apps")),
        Route(
            f"/apis/apps/v1{ns}/deployments/{{name}}/scale",
            api(counted_scale, "deployments/scale", "apps"),
            methods=["GET", "PATCH"],
        ),
        # What pulumi up adds (tests.support.fake_kube_platform): Karpenter, ConfigMaps, the service proxy.
        Route("/apis/karpenter.sh/v1/nodepools/{name}", api(get_node_pool, "nodepools", "karpenter.sh")),
        Route(f"/api/v1{ns}/configmaps/{{name}}", api(get_config_map, "configmaps")),
        Route(f"/api/v1{ns}/services/{{name}}/proxy/{{path:path}}", api(service_proxy, "services/proxy")),
        Route("/{path:path}", api(_no_such_path, ""), methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    return Starlette(routes=routes)


def _version(request: Request, state: FakeKubeState) -> Response:
    return _json(
        VersionInfo(
            major="1",
            minor="35",
            git_version="v1.35.0-eks-fake",
            git_commit="0" * 40,
            git_tree_state="clean",
            build_date="2026-01-01T00:00:00Z",
            go_version="go1.25.0",
            compiler="gc",
            platform="linux/amd64",
        )
    )


def _list_pods(request: Request, state: FakeKubeState) -> Response:
    return _list(request, V1PodList, state.pods, "PodList")


def _list_nodes(request: Request, state: FakeKubeState) -> Response:
    return _list(request, V1NodeList, state.nodes, "NodeList")


def _list_events(request: Request, state: FakeKubeState) -> Response:
    return _list(request, CoreV1EventList, state.events, "EventList")


def _list_deployments(request: Request, state: FakeKubeState) -> Response:
    return _list(request, V1DeploymentList, state.deployments, "DeploymentList", api_version="apps/v1")


def _get_pod(request: Request, state: FakeKubeState) -> Response:
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    pod = state.pod(namespace, name)
    return _json(pod) if pod else _not_found("pods", name)


def _get_deployment(request: Request, state: FakeKubeState) -> Response:
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    deployment = state.deployment(namespace, name)
    return _json(deployment) if deployment else _not_found("deployments", name, group="apps")


def _get_pod_log(request: Request, state: FakeKubeState) -> Response:
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    pod = state.pod(namespace, name)
    if pod is None or pod.spec is None:
        return _not_found("pods", name)
    names = [container.name for container in pod.spec.containers]
    container = request.query_params.get("container") or (names[0] if len(names) == 1 else None)
    if container is None:
        return _status(400, "BadRequest", f"a container name must be specified for pod {name}, choose one of: {names}")
    if container not in names:
        return _status(400, "BadRequest", f"container {container} is not valid for pod {name}")
    previous = request.query_params.get("previous") == "true"
    text = state.logs.get((namespace, name, container, previous))
    if text is None and previous:
        return _status(400, "BadRequest", f'previous terminated container "{container}" in pod "{name}" not found')
    if text is None:
        statuses = (pod.status.container_statuses if pod.status else None) or []
        waiting = next((s.state.waiting for s in statuses if s.name == container and s.state and s.state.waiting), None)
        if waiting is not None:
            return _status(
                400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: {waiting.reason}'
            )
        text = ""
    if tail := request.query_params.get("tailLines"):
        text = "".join(text.splitlines(keepends=True)[-int(tail) :])
    if limit := request.query_params.get("limitBytes"):
        text = text.encode()[: int(limit)].decode(errors="ignore")
    return PlainTextResponse(text)


def _scale(request: Request, state: FakeKubeState) -> Response:
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    deployment = state.deployment(namespace, name)
    if deployment is None or deployment.spec is None:
        return _not_found("deployments", name, group="apps")
    replicas = 1 if deployment.spec.replicas is None else deployment.spec.replicas
    if request.method == "PATCH":
        dry_run = request.query_params.get("dryRun")
        if dry_run not in (None, "All"):
            return _status(400, "BadRequest", f'unsupported dry run value "{dry_run}", must be "All"')
        wanted = _replicas_from_patch(request.state.body)
        if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 0:
            return _status(
                422, "Invalid", f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: {wanted!r}'
            )
        replicas = wanted
        if dry_run is None:
            deployment.spec.replicas = wanted
    current = deployment.status.replicas if deployment.status and deployment.status.replicas else 0
    selector = deployment.spec.selector.match_labels or {}
    return _json(
        V1Scale(
            api_version="autoscaling/v1",
            kind="Scale",
            metadata=V1ObjectMeta(
                name=name, namespace=namespace, uid=deployment.metadata.uid if deployment.metadata else None
            ),
            spec=V1ScaleSpec(replicas=replicas),
            status=V1ScaleStatus(replicas=current, selector=",".join(f"{k}={v}" for k, v in selector.items())),
        )
    )


def _no_such_path(request: Request, state: FakeKubeState) -> Response:
    return _status(404, "NotFound", "the server could not find the requested resource")


def _list(request: Request, list_type: Any, objects: Sequence[Any], kind: str, api_version: str = "v1") -> Response:
    namespace = request.path_params.get("namespace")
    query = request.query_params
    matches = [label_selector(query.get("labelSelector", ""))]
    if query.get("fieldSelector"):
        matches.append(field_selector(query["fieldSelector"]))
    pairs = [(obj, _to_json(obj)) for obj in objects]
    selected = [
        (obj, data)
        for obj, data in pairs
        if (namespace is None or data["metadata"].get("namespace") == namespace) and all(m(data) for m in matches)
    ]
    # etcd returns keys in order, so pages are stable: namespace, then name.
    selected.sort(key=lambda pair: (pair[1]["metadata"].get("namespace", ""), pair[1]["metadata"]["name"]))
    offset = decode_continue(query["continue"]) if query.get("continue") else 0
    # limit=0 or no limit means everything, as on the real server.
    limit = int(query.get("limit") or 0) or len(selected)
    page = selected[offset : offset + limit]
    body = _to_json(
        list_type(
            api_version=api_version, kind=kind, metadata=V1ListMeta(resource_version="1000"), items=[p[0] for p in page]
        )
    )
    if offset + limit < len(selected):
        body["metadata"]["continue"] = encode_continue(offset + limit)
    return JSONResponse(body)


def _replicas_from_patch(body: Any) -> Any:
    if isinstance(body, dict):
        return (body.get("spec") or {}).get("replicas")
    if isinstance(body, list):  # JSON patch
        for operation in body:
            if operation.get("path") == "/spec/replicas" and operation.get("op") in ("add", "replace"):
                return operation.get("value")
    return None


def _to_json(model: Any) -> Any:
    """The wire form the client itself would send: camelCase keys, RFC 3339 times, no unset fields."""
    return _serializer.sanitize_for_serialization(model)  # type: ignore[no-untyped-call]


def _json(model: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(_to_json(model), status_code=status_code)


def _status(code: int, reason: str, message: str, details: V1StatusDetails | None = None) -> JSONResponse:
    status = V1Status(
        api_version="v1", kind="Status", status="Failure", code=code, reason=reason, message=message, details=details
    )
    return _json(status, status_code=code)


def _not_found(resource: str, name: str, group: str = "") -> JSONResponse:
    qualified = f"{resource}.{group}" if group else resource
    return _status(
        404,
        "NotFound",
        f'{qualified} "{name}" not found',
        V1StatusDetails(name=name, group=group or None, kind=resource),
    )


def _forbidden(request: Request, resource: str, group: str) -> JSONResponse:
    name = request.path_params.get("name")
    namespace = request.path_params.get("namespace")
    verb = {"PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(request.method, "get" if name else "list")
    base = resource.split("/")[0]
    subject = f'{base} "{name}"' if name else base
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{SERVICE_ACCOUNT}" cannot {verb} resource "{resource}" '
        f'in API group "{group}" {scope}'
    )
    return _status(403, "Forbidden", message, V1StatusDetails(name=name, group=group or None, kind=base))
