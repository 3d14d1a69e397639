"""The checks that need cluster access (``--kubeconfig`` or ``KUBECONFIG``): what ``pulumi up`` set up around the apps.

- Karpenter's NodePool ``default`` (``karpenter.sh/v1``) reports ``Ready=True``. Karpenter v1.14.1 derives Ready
  from ``ValidationSucceeded`` and ``NodeClassReady`` (kubernetes-sigs/karpenter ``pkg/apis/v1/nodepool_status.go``),
  so a NodePool that cannot launch nodes says so here.
- Prometheus scrapes the platform: its targets API (``/api/v1/targets``), reached through the Kubernetes API's
  service proxy, so nothing but the kubeconfig is needed (no port-forward, no Prometheus exposed). The Service
  is ``kube-prometheus-stack-prometheus``, port ``http-web`` (chart 88.5.3: fullname is the release name when it
  contains the chart's name; ``prometheus.prometheusSpec.portName``), and each ServiceMonitor's targets form the
  scrape pool ``serviceMonitor/<namespace>/<name>/<endpoint index>`` (prometheus-operator v0.93
  ``pkg/prometheus/promcfg.go``). Every Python service of the platform must have a pool with a target up.
  The proxy needs ``get`` on ``services/proxy`` in ``monitoring``, which the cluster's creator has.
- Grafana's dashboard ConfigMap (``monitoring/agentic-platform-dashboard``) exists, carries the label Grafana's
  sidecar loads, and holds a dashboard.

The command line has no event loop; these are blocking calls, each with a (connect, read) timeout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration, CoreV1Api, CustomObjectsApi
from kubernetes.client.exceptions import ApiException

from apps.cli.text import shorten
from apps.cli.verify.results import CheckResult, failed, passed, warned

NODE_POOL = "default"
NODE_POOL_API = ("karpenter.sh", "v1", "nodepools")
MONITORING_NAMESPACE = "monitoring"
PROMETHEUS_SERVICE = "kube-prometheus-stack-prometheus:http-web"
TARGETS_PATH = "api/v1/targets?state=active"
DASHBOARD_CONFIG_MAP = "agentic-platform-dashboard"
DASHBOARD_LABEL = ("grafana_dashboard", "1")
DASHBOARD_KEY = "agentic-platform.json"
K8S_ADMIN_NAMESPACE = "k8s-admin"
# The services that serve /metrics, each with a ServiceMonitor of the same name (infra/workloads.py).
APP_SCRAPED = ("aws-mcp", "database-mcp", "custom-mcp", "agent-core")
K8S_ADMIN_SCRAPED = ("k8s-mcp",)
DETAIL_CHARS = 400

Fetch = Callable[[], Any]


def platform_scrape_pools(apps_namespace: str) -> list[str]:
    """The scrape pools the Prometheus Operator makes of the platform's ServiceMonitors (one endpoint each)."""
    monitors = [(apps_namespace, name) for name in APP_SCRAPED] + [(K8S_ADMIN_NAMESPACE, n) for n in K8S_ADMIN_SCRAPED]
    return [f"serviceMonitor/{namespace}/{name}/0" for namespace, name in monitors]


class ClusterChecks:
    """One kubeconfig's cluster, asked with a timeout on every request."""

    def __init__(self, api_client: ApiClient, *, apps_namespace: str, timeout: float) -> None:
        self.api_client = api_client
        self.apps_namespace = apps_namespace
        self.request_timeout = (min(5.0, timeout), timeout)

    @classmethod
    def from_kubeconfig(cls, path: str, *, apps_namespace: str, timeout: float) -> ClusterChecks:
        """Raise ``ValueError`` saying why the kubeconfig cannot be used."""
        configuration = Configuration()
        configuration.retries = urllib3.Retry(total=1, connect=1, read=0, redirect=0, status=0, other=0)
        try:
            # persist_config=False: a refreshed token must never be written back into the user's kubeconfig.
            api_client = kube_config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=os.path.expanduser(path), persist_config=False, client_configuration=configuration
            )
        except (kube_config.ConfigException, OSError, ValueError) as exc:
            raise ValueError(f"the kubeconfig {path} cannot be used: {exc}") from None
        return cls(api_client, apps_namespace=apps_namespace, timeout=timeout)

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]

    def run(self) -> list[CheckResult]:
        return [self.check_node_pool(), self.check_prometheus_targets(), self.check_grafana_dashboard()]

    # -- the checks -------------------------------------------------------------------------------------

    def check_node_pool(self) -> CheckResult:
        check = "cluster nodepool"
        group, version, plural = NODE_POOL_API
        remedy = (
            f"kubectl describe nodepool {NODE_POOL}: its conditions say what is missing (NodeClassReady: the "
            "EC2NodeClass's subnets, security groups, AMI or role); pulumi up creates both (infra/karpenter.py)"
        )
        try:
            pool = self.custom.get_cluster_custom_object(
                group, version, plural, NODE_POOL, _request_timeout=self.request_timeout
            )
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            return failed(check, self._failure(exc, f"NodePool {NODE_POOL!r} ({group}/{version})"), remedy)
        if not isinstance(pool, dict):
            return failed(check, f"NodePool {NODE_POOL!r} came back as {type(pool).__name__}, not an object", remedy)
        conditions = {c.get("type"): c for c in ((pool.get("status") or {}).get("conditions") or [])}
        ready = conditions.get("Ready")
        if ready and ready.get("status") == "True":
            return passed(check, f"Karpenter NodePool {NODE_POOL!r} is Ready")
        if ready is None:
            return failed(check, f"NodePool {NODE_POOL!r} has no Ready condition yet: is Karpenter running?", remedy)
        unhealthy = [
            f"{kind}={c.get('status')} ({c.get('reason')}: {c.get('message')})"
            for kind, c in conditions.items()
            if kind != "Ready" and c.get("status") == "False"
        ]
        why = "; ".join(unhealthy) or f"{ready.get('reason')}: {ready.get('message')}"
        return failed(check, _short(f"NodePool {NODE_POOL!r} is not Ready ({ready.get('status')}): {why}"), remedy)

    def check_prometheus_targets(self) -> CheckResult:
        check = "cluster prometheus targets"
        remedy = (
            "kubectl get servicemonitors -A -l app.kubernetes.io/part-of=agentic-platform; each must select its "
            "Service, whose port 'http' serves /metrics, and the NetworkPolicies must let Prometheus in"
        )
        try:
            answer = self._proxy_get(MONITORING_NAMESPACE, PROMETHEUS_SERVICE, TARGETS_PATH)
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            proxy_remedy = (
                "kubectl -n monitoring get pods,svc: Prometheus (kube-prometheus-stack) must be running; "
                "the kubeconfig's identity needs get on services/proxy in monitoring"
            )
            return failed(check, self._failure(exc, f"Prometheus (service {PROMETHEUS_SERVICE})"), proxy_remedy)
        targets = (answer.get("data") or {}).get("activeTargets") if isinstance(answer, dict) else None
        if not isinstance(targets, list):
            return failed(check, "Prometheus answered /api/v1/targets without activeTargets", remedy)
        missing, down, pending, up = [], [], [], 0
        for pool in platform_scrape_pools(self.apps_namespace):
            in_pool = [t for t in targets if isinstance(t, dict) and t.get("scrapePool") == pool]
            healthy = [t for t in in_pool if t.get("health") == "up"]
            up += len(healthy)
            if not in_pool:
                missing.append(pool)
            elif not healthy and all(t.get("health") == "unknown" for t in in_pool):
                pending.append(pool)
            elif not healthy:
                errors = {str(t.get("lastError") or t.get("health")) for t in in_pool}
                down.append(f"{pool} ({'; '.join(sorted(errors))})")
        if missing or down:
            problems = [f"no targets in {pool}" for pool in missing] + [f"all down in {entry}" for entry in down]
            return failed(check, _short("; ".join(problems)), remedy)
        if pending:
            detail = f"not scraped yet: {', '.join(pending)}"
            return warned(check, detail, "Prometheus scrapes every 30 s: run verify again in a minute")
        pools = len(platform_scrape_pools(self.apps_namespace))
        return passed(check, f"Prometheus scrapes the platform: {up} targets up in {pools} scrape pools")

    def check_grafana_dashboard(self) -> CheckResult:
        check = "cluster grafana dashboard"
        where = f"ConfigMap {MONITORING_NAMESPACE}/{DASHBOARD_CONFIG_MAP}"
        remedy = f"pulumi up creates the {where} (infra/observability.py): did it finish?"
        try:
            config_map = self.core.read_namespaced_config_map(
                DASHBOARD_CONFIG_MAP, MONITORING_NAMESPACE, _request_timeout=self.request_timeout
            )
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            return failed(check, self._failure(exc, where), remedy)
        label, value = DASHBOARD_LABEL
        labels = (config_map.metadata.labels if config_map.metadata else None) or {}
        if labels.get(label) != value:
            detail = f"{where} lacks the label {label}={value}, so Grafana's sidecar does not load it"
            return failed(check, detail, remedy)
        try:
            dashboard = json.loads((config_map.data or {})[DASHBOARD_KEY])
            title, panels = str(dashboard["title"]), len(dashboard["panels"])
        except (KeyError, TypeError, ValueError):
            return failed(check, f"{where} holds no dashboard in {DASHBOARD_KEY}", remedy)
        return passed(check, f"{where} holds the dashboard {title!r} ({panels} panels), labelled for Grafana")

    # -- plumbing ---------------------------------------------------------------------------------------

    @property
    def core(self) -> CoreV1Api:
        return CoreV1Api(self.api_client)

    @property
    def custom(self) -> CustomObjectsApi:
        return CustomObjectsApi(self.api_client)

    def _proxy_get(self, namespace: str, service: str, path: str) -> Any:
        """GET through the API server's service proxy, as ``kubectl get --raw`` does.

        The generated ``connect_get_namespaced_service_proxy_with_path`` percent-encodes the ``/`` of the
        path; the resource path is written out here instead, so the proxied request is exactly the one meant.
        """
        resource_path = f"/api/v1/namespaces/{namespace}/services/{service}/proxy/{path}"
        method, url, headers, body, post_params = self.api_client.param_serialize(
            "GET", resource_path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
        )
        timeout = self.request_timeout
        response = self.api_client.call_api(method, url, headers, body, post_params, _request_timeout=timeout)
        data = response.read()  # type: ignore[no-untyped-call]
        if not 200 <= response.status <= 299:
            raise ApiException(http_resp=response, body=data.decode(errors="replace") if data else None)
        return json.loads(data)

    def _failure(self, exc: Exception, what: str) -> str:
        host = self.api_client.configuration.host
        if isinstance(exc, ApiException):
            said = _status_message(exc)
            if exc.status == 401:
                return f"the Kubernetes API at {host} refused the kubeconfig's credentials (401)"
            if exc.status == 403:
                return _short(f"forbidden (403) to read {what}: {said}")
            if exc.status == 404:
                return _short(f"{what} not found (404): {said}")
            return _short(f"reading {what} failed ({exc.status}): {said}")
        return _short(f"cannot reach the Kubernetes API at {host}: {exc}")


def cluster_checks(kubeconfig: str, *, apps_namespace: str, timeout: float) -> list[CheckResult]:
    """The cluster checks, or one line saying why they could not start."""
    try:
        checks = ClusterChecks.from_kubeconfig(kubeconfig, apps_namespace=apps_namespace, timeout=timeout)
    except ValueError as exc:
        remedy = "write the stack's kubeconfig (pulumi stack output kubeconfig --show-secrets) to a file and pass it"
        return [failed("cluster", _short(str(exc)), remedy)]
    try:
        return checks.run()
    finally:
        checks.close()


def _status_message(exc: ApiException) -> str:
    """The ``message`` of the Status object the API server answered with, else its reason."""
    try:
        body = json.loads(exc.body) if exc.body else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return str(exc.reason or exc.status)


def _short(text: str) -> str:
    return shorten(text, DETAIL_CHARS)
