"""k8s-mcp is ready only while the Kubernetes API answers it; without a configured cluster the check is skipped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.readiness import ApiServerProbe, ApiServerUnreachable
from apps.mcp_kubernetes.server import create_app
from apps.mcp_kubernetes.settings import KubernetesSettings
from tests.support.fake_kube import FakeKube, write_kubeconfig
from tests.support.net import free_port
from tests.support.servers import serve_in_thread


@contextmanager
def readiness_of(access: ClusterAccess) -> Iterator[httpx.Response]:
    with access, serve_in_thread(create_app(KubernetesSettings(), access=access)) as url:
        yield httpx.get(url + "/ready", timeout=10.0)


def test_ready_when_the_api_server_answers(kube: FakeKube) -> None:
    with readiness_of(ClusterAccess.from_kubeconfig(kube.kubeconfig)) as response:
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "checks": {"kubernetes_api": "ok"}}
    assert len(kube.requests_to("/version/")) == 1


def test_not_ready_when_nothing_listens_at_the_api_address(tmp_path: Path) -> None:
    server = f"http://127.0.0.1:{free_port()}"  # a port nobody serves: the connection is refused
    access = ClusterAccess.from_kubeconfig(write_kubeconfig(tmp_path / "kubeconfig", server))
    with readiness_of(access) as response:
        assert response.status_code == 503
        body = response.json()
    assert body["status"] == "not ready"
    assert set(body["checks"]) == {"kubernetes_api"}
    assert "Could not connect to the Kubernetes API" in body["checks"]["kubernetes_api"]
    assert server in body["checks"]["kubernetes_api"]


def test_not_ready_when_the_api_server_does_not_answer_in_time(kube: FakeKube) -> None:
    """What a NetworkPolicy that drops the traffic looks like from the pod: no answer at all."""
    kube.state.delay_seconds = 5.0  # far beyond the probe's 1 s read timeout and the 2 s readiness budget
    with readiness_of(ClusterAccess.from_kubeconfig(kube.kubeconfig)) as response:
        assert response.status_code == 503
        check = response.json()["checks"]["kubernetes_api"]
    assert "in time" in check or "timed out" in check, check


def test_not_ready_when_the_api_server_rejects_the_credentials(kube: FakeKube, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kube.url, token="not-the-token")
    with readiness_of(ClusterAccess.from_kubeconfig(kubeconfig)) as response:
        assert response.status_code == 503
        assert "401" in response.json()["checks"]["kubernetes_api"]


def test_skipped_without_a_configured_cluster() -> None:
    with readiness_of(ClusterAccess.not_configured()) as response:
        assert response.status_code == 200
        (check,) = response.json()["checks"].values()
    assert check.startswith("skipped: not configured")


def test_the_answer_is_kept_briefly(kube: FakeKube) -> None:
    now = [100.0]
    with ClusterAccess.from_kubeconfig(kube.kubeconfig) as access:
        probe = ApiServerProbe(access, cache_seconds=5.0, clock=lambda: now[0])
        assert anyio.run(probe) is None
        now[0] += 4.0
        assert anyio.run(probe) is None
        assert len(kube.requests_to("/version/")) == 1  # within the cache: no second request
        now[0] += 2.0
        kube.state.token = "rotated"  # the fake now refuses the probe's token
        with pytest.raises(ApiServerUnreachable, match="401"):
            anyio.run(probe)
        assert len(kube.requests_to("/version/")) == 2
