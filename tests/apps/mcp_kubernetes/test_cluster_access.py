from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes.client import Configuration

from apps.common.tools import ToolError
from apps.mcp_kubernetes import pods, scaling, status, troubleshoot
from apps.mcp_kubernetes.cluster_access import (
    NOT_CONFIGURED_MESSAGE,
    ClusterAccess,
    ClusterConfigError,
    load_cluster_access,
)
from tests.support.fake_kube import FakeKube, write_kubeconfig
from tests.support.net import free_port


def test_no_cluster_configured_is_a_state_not_a_crash(tmp_path: Path) -> None:
    access = load_cluster_access(environ={"HOME": str(tmp_path)})

    assert not access.configured
    assert "not configured" in access.source
    policy = scaling.ScalePolicy(frozenset({"k8s-admin"}), 5)
    calls: list[Callable[[], object]] = [
        lambda: pods.list_pods(access),
        lambda: status.get_cluster_status(access),
        lambda: troubleshoot.troubleshoot_pod(access, "agentic", "api"),
        lambda: scaling.scale_deployment(access, policy, "k8s-admin", "web", 2),
    ]
    for call in calls:
        with pytest.raises(ToolError) as refused:
            call()
        assert str(refused.value) == NOT_CONFIGURED_MESSAGE


def test_an_explicit_kubeconfig_reaches_the_cluster_it_names(kube: FakeKube) -> None:
    with load_cluster_access(kube.kubeconfig, environ={}) as access:
        listing = pods.list_pods(access, namespace="k8s-admin")

    assert access.source == f"kubeconfig {kube.kubeconfig}"
    assert len(listing.pods) == 3
    assert kube.requests[0].path == "/api/v1/namespaces/k8s-admin/pods"


def test_kubeconfig_variable_is_read_from_the_given_environment(kube: FakeKube, tmp_path: Path) -> None:
    with load_cluster_access(environ={"KUBECONFIG": f"{tmp_path / 'absent'}:{kube.kubeconfig}"}) as access:
        assert access.configured
        assert pods.list_pods(access, namespace="kube-system").pods[0].name.startswith("coredns-")


def test_default_kubeconfig_under_home_is_used(kube: FakeKube, tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    write_kubeconfig(tmp_path / ".kube" / "config", kube.url)

    with load_cluster_access(environ={"HOME": str(tmp_path)}) as access:
        assert access.source == f"kubeconfig {tmp_path / '.kube' / 'config'}"
        assert access.apis().host == kube.url


def test_a_broken_kubeconfig_leaves_the_server_unconfigured_with_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "config"
    broken.write_text("apiVersion: v1\nkind: Config\ncurrent-context: missing\n")

    access = load_cluster_access(broken, environ={})

    assert not access.configured
    assert str(broken) in access.source
    with pytest.raises(ClusterConfigError, match="cannot be used"):
        ClusterAccess.from_kubeconfig(broken)


IN_CLUSTER_ENV = {"KUBERNETES_SERVICE_HOST": "10.100.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def test_in_cluster_uses_the_mounted_service_account(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("service-account-token")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")

    with ClusterAccess.in_cluster(environ=IN_CLUSTER_ENV, service_account_dir=tmp_path) as access:
        configuration = access.apis().core.api_client.configuration

    assert access.source == "in-cluster"
    assert configuration.host == "https://10.100.0.1:443"
    assert configuration.ssl_ca_cert == str(tmp_path / "ca.crt")
    assert configuration.api_key["BearerToken"] == "bearer service-account-token"
    assert Configuration.get_default_copy().host != configuration.host


def test_in_cluster_is_preferred_to_a_kubeconfig_and_says_why_it_failed(kube: FakeKube) -> None:
    # The service host is set but no token is mounted at the standard path on this machine.
    access = load_cluster_access(environ={**IN_CLUSTER_ENV, "KUBECONFIG": str(kube.kubeconfig)})

    assert not access.configured
    assert (
        access.source == "not configured (in-cluster configuration cannot be used: Service token file does not exist.)"
    )


def test_loading_never_touches_the_client_global_configuration(kube: FakeKube) -> None:
    # get_default_copy, unlike get_default, reads the global without creating it.
    before = Configuration.get_default_copy().host

    with ClusterAccess.from_kubeconfig(kube.kubeconfig) as access:
        assert access.apis().host == kube.url

    assert Configuration.get_default_copy().host == before != kube.url


def test_a_wrong_token_is_reported_as_expired_credentials(kube: FakeKube, access: ClusterAccess) -> None:
    kube.state.token = "rotated-token"

    with pytest.raises(ToolError, match=r"401 Unauthorized.*renew"):
        pods.list_pods(access)


def test_a_hung_api_server_times_out_instead_of_hanging_the_tool(kube: FakeKube) -> None:
    kube.state.delay_seconds = 1.5
    with ClusterAccess.from_kubeconfig(kube.kubeconfig, request_timeout=(1.0, 0.3)) as access:
        started = time.monotonic()
        with pytest.raises(ToolError, match=r"did not answer .* in time") as refused:
            pods.list_pods(access)
        elapsed = time.monotonic() - started

    assert kube.url in str(refused.value)
    assert elapsed < 1.4
    assert "Traceback" not in str(refused.value)


def test_an_unreachable_api_server_is_reported_as_such(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "config", f"http://127.0.0.1:{free_port()}")

    with ClusterAccess.from_kubeconfig(config) as access, pytest.raises(ToolError, match="Could not connect"):
        status.get_cluster_status(access)
