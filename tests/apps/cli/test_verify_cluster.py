"""``verify``'s cluster checks against the fake Kubernetes API, serving what ``pulumi up`` leaves in a cluster.

The cluster's objects come from the Pulumi program itself (its ServiceMonitors, its dashboard ConfigMap); the
NodePool, the service proxy and Prometheus's targets answer are modelled on Karpenter v1.14.1, the API server and
Prometheus's HTTP API (see tests/support/fake_kube_platform.py). The end-to-end runs are in test_verify.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.cli.verify import cluster_checks as cluster
from apps.cli.verify.cluster_checks import ClusterChecks, platform_scrape_pools
from apps.cli.verify.results import CheckResult
from infra import karpenter, monitoring, observability
from infra.charts import KARPENTER, KUBE_PROMETHEUS_STACK
from tests.support.fake_kube import FakeKube, run_fake_kube
from tests.support.fake_kube_platform import (
    PROMETHEUS,
    deployed_state,
    node_pool,
    program_scrape_pools,
    prometheus_targets,
)

TARGETS_PATH = f"/api/v1/namespaces/monitoring/services/{PROMETHEUS.name}:http-web/proxy/api/v1/targets"


@pytest.fixture(scope="module")
def kube() -> Iterator[FakeKube]:
    with run_fake_kube(deployed_state()) as served:
        yield served


@pytest.fixture(autouse=True)
def fresh_cluster(kube: FakeKube) -> None:
    kube.reset(deployed_state())


def run_checks(kube: FakeKube, *, namespace: str = "agentic", timeout: float = 10.0) -> dict[str, CheckResult]:
    checks = ClusterChecks.from_kubeconfig(str(kube.kubeconfig), apps_namespace=namespace, timeout=timeout)
    try:
        return {result.check: result for result in checks.run()}
    finally:
        checks.close()


def test_scrape_pools_are_those_of_the_programs_service_monitors() -> None:
    """The Prometheus Operator names a ServiceMonitor's scrape pool ``serviceMonitor/<ns>/<name>/<endpoint index>``
    (prometheus-operator v0.93.0, pkg/prometheus/promcfg.go, generateServiceMonitorConfig's job_name); verify expects
    one per ServiceMonitor the program creates, in whichever namespace the apps are."""
    for namespace in ("agentic", "apps"):
        assert sorted(platform_scrape_pools(namespace)) == sorted(program_scrape_pools(namespace))


def test_names_are_those_the_program_and_its_charts_create() -> None:
    """kube-prometheus-stack 88.5.3 (prometheus-community/helm-charts charts/kube-prometheus-stack):
    templates/_helpers.tpl makes the fullname the release name when it contains the chart's name, and
    templates/prometheus/service.yaml names the Service ``<fullname>-prometheus`` with the port
    ``prometheus.prometheusSpec.portName``, ``http-web`` in values.yaml. A chart bump fails here until rechecked."""
    assert KUBE_PROMETHEUS_STACK.version == "88.5.3"
    assert f"{monitoring.RELEASE}-prometheus:http-web" == cluster.PROMETHEUS_SERVICE
    assert "kube-prometheus-stack" in monitoring.RELEASE
    assert cluster.MONITORING_NAMESPACE == monitoring.NAMESPACE
    manifest = observability.dashboard_config_map()
    assert (
        manifest["metadata"]["namespace"],
        manifest["metadata"]["name"],
    ) == (cluster.MONITORING_NAMESPACE, cluster.DASHBOARD_CONFIG_MAP)
    label, value = cluster.DASHBOARD_LABEL
    assert manifest["metadata"]["labels"][label] == value
    assert list(manifest["data"]) == [cluster.DASHBOARD_KEY]
    # Karpenter v1.14.1 serves NodePools as karpenter.sh/v1 (pkg/apis/v1); the program creates one named default.
    assert KARPENTER.version == "1.14.1"
    assert cluster.NODE_POOL == karpenter.NODE_POOL
    assert cluster.NODE_POOL_API[:2] == ("karpenter.sh", "v1")


def test_a_cluster_as_pulumi_up_leaves_it_passes_and_is_only_read(kube: FakeKube) -> None:
    results = run_checks(kube)
    assert {name: result.outcome for name, result in results.items()} == {
        "cluster nodepool": "pass",
        "cluster prometheus targets": "pass",
        "cluster grafana dashboard": "pass",
    }
    assert "5 targets up in 5 scrape pools" in results["cluster prometheus targets"].detail
    assert "'Agentic Workflows Platform'" in results["cluster grafana dashboard"].detail
    assert {request.method for request in kube.requests} == {"GET"}
    proxied = kube.requests_to(TARGETS_PATH)
    assert len(proxied) == 1 and proxied[0].query == {"state": "active"}


def test_a_node_pool_that_is_not_ready_fails_with_karpenters_reason(kube: FakeKube) -> None:
    kube.state.node_pools[:] = [node_pool("default", node_class_ready=False)]
    result = run_checks(kube)["cluster nodepool"]
    assert result.outcome == "fail"
    assert "NodeClassReady=False (NodeClassNotFound: NodeClass not found on cluster)" in result.detail
    assert "kubectl describe nodepool default" in (result.remedy or "")


def test_a_missing_node_pool_fails(kube: FakeKube) -> None:
    kube.state.node_pools.clear()
    result = run_checks(kube)["cluster nodepool"]
    assert result.outcome == "fail"
    assert "not found (404)" in result.detail and "nodepools.karpenter.sh" in result.detail


def test_a_scrape_pool_down_or_missing_fails_naming_it(kube: FakeKube) -> None:
    pools: dict[str, list[tuple[str, str]]] = {pool: [("up", "")] for pool in program_scrape_pools()}
    pools["serviceMonitor/agentic/custom-mcp/0"] = [("down", 'Get "http://10.0.0.7:8000/metrics": connection refused')]
    del pools["serviceMonitor/k8s-admin/k8s-mcp/0"]
    kube.state.proxied_services[0].answers["api/v1/targets"] = prometheus_targets(pools)
    result = run_checks(kube)["cluster prometheus targets"]
    assert result.outcome == "fail"
    assert "no targets in serviceMonitor/k8s-admin/k8s-mcp/0" in result.detail
    assert "all down in serviceMonitor/agentic/custom-mcp/0" in result.detail
    assert "connection refused" in result.detail


def test_targets_not_scraped_yet_are_a_warning(kube: FakeKube) -> None:
    pools = {pool: [("unknown", "")] for pool in program_scrape_pools()}
    kube.state.proxied_services[0].answers["api/v1/targets"] = prometheus_targets(pools)
    result = run_checks(kube)["cluster prometheus targets"]
    assert result.outcome == "warn"
    assert "not scraped yet" in result.detail


def test_the_apps_namespace_decides_the_expected_pools(kube: FakeKube) -> None:
    """Pools in another namespace than the one verify is told the apps are in count as missing."""
    assert run_checks(kube, namespace="apps")["cluster prometheus targets"].outcome == "fail"
    kube.reset(deployed_state("apps"))
    assert run_checks(kube, namespace="apps")["cluster prometheus targets"].outcome == "pass"


def test_prometheus_without_ready_endpoints_fails(kube: FakeKube) -> None:
    kube.state.proxied_services[0].ready = False
    result = run_checks(kube)["cluster prometheus targets"]
    assert result.outcome == "fail"
    assert 'no endpoints available for service "kube-prometheus-stack-prometheus"' in result.detail


def test_no_right_to_the_service_proxy_fails_in_rbacs_words(kube: FakeKube) -> None:
    kube.state.forbid(TARGETS_PATH)
    result = run_checks(kube)["cluster prometheus targets"]
    assert result.outcome == "fail"
    assert "forbidden (403)" in result.detail and 'resource "services/proxy"' in result.detail
    assert "services/proxy" in (result.remedy or "")


def test_a_dashboard_config_map_without_the_sidecars_label_fails(kube: FakeKube) -> None:
    labels = kube.state.config_maps[0].metadata.labels  # type: ignore[union-attr]
    del labels["grafana_dashboard"]
    result = run_checks(kube)["cluster grafana dashboard"]
    assert result.outcome == "fail"
    assert "lacks the label grafana_dashboard=1" in result.detail


def test_refused_credentials_fail_every_check(kube: FakeKube) -> None:
    kube.state.token = "another-token"
    results = run_checks(kube)
    assert all(result.outcome == "fail" for result in results.values())
    assert all("refused the kubeconfig's credentials (401)" in result.detail for result in results.values())


def test_a_hung_api_server_fails_each_check_instead_of_hanging(kube: FakeKube) -> None:
    """Answers come 5 s late, past the 0.5 s timeout: had verify waited for them, every check would pass."""
    kube.state.delay_seconds = 5.0
    results = run_checks(kube, timeout=0.5)
    assert all(result.outcome == "fail" for result in results.values())
    assert all("cannot reach the Kubernetes API" in result.detail for result in results.values())


def test_an_unusable_kubeconfig_is_one_failure() -> None:
    results = cluster.cluster_checks("/nonexistent/kubeconfig", apps_namespace="agentic", timeout=5)
    assert [result.outcome for result in results] == ["fail"]
    assert "the kubeconfig /nonexistent/kubeconfig cannot be used" in results[0].detail
