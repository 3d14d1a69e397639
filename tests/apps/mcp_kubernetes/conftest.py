"""One fake Kubernetes API for the package, reset to the default cluster before each test that uses it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from apps.mcp_kubernetes.cluster_access import ClusterAccess
from tests.support.fake_kube import FakeKube, default_state, run_fake_kube


@pytest.fixture(scope="package")
def fake_kube_server() -> Iterator[FakeKube]:
    with run_fake_kube() as kube:
        yield kube


@pytest.fixture
def now() -> datetime:
    """The moment the default cluster is built around; pass it to tools so ages are exact."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def kube(fake_kube_server: FakeKube, now: datetime) -> FakeKube:
    fake_kube_server.reset(default_state(now))
    return fake_kube_server


@pytest.fixture
def access(kube: FakeKube) -> Iterator[ClusterAccess]:
    """Reaches the fake through its kubeconfig file, as the server would reach a real cluster."""
    with ClusterAccess.from_kubeconfig(kube.kubeconfig) as cluster_access:
        yield cluster_access
