"""The cluster's Service range is set explicitly, and k8s-mcp's egress allows the API server's Service address.

Upstream facts:

- aws/amazon-network-policy-controller-k8s v1.1.7, pkg/resolvers/endpoints.go: the VPC CNI's network policy
  agent "attaches the ebpf probes to the TC hook of the pod veth interface and thus [is] unable to see the pod IP
  after the DNAT happens for the clusterIPs" (getMatchingServiceClusterIPs); the controller adds a ClusterIP to a
  policy only for Services whose ``spec.selector`` matches a podSelector peer, and ipBlock peers are passed
  through as written (computeEgressEndpoints). The ``kubernetes`` Service has no selector, so egress to it is
  allowed only by an ipBlock that holds its ClusterIP; the control plane's ENIs in the VPC are never what the
  agent sees. (aws/aws-network-policy-agent#549 shows the same: a deny-all-but-DNS policy logs DENY with the
  Service address as ``Dest IP``.)
- kubernetes/kubernetes pkg/controlplane/services.go, ServiceIPRange: the API server's Service takes the first
  address of the service range (``GetIndexedIP(&serviceClusterIPRange, 1)``), the KUBERNETES_SERVICE_HOST that
  in-cluster clients use.
- EKS API reference, KubernetesNetworkConfigRequest.serviceIpv4Cidr: unset, EKS picks 10.100.0.0/16 or
  172.20.0.0/16 itself; a chosen block must lie in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, not overlap
  the VPC, and be between /24 and /12; it can only be set when the cluster is created.

So the range is configuration (``serviceIpv4Cidr``), written on the cluster, and its first address is allowed.
"""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from infra.config import ConfigError
from infra.offline import ProgramRun
from tests.infra.support import k8s_object, run_with


def _cluster_range(run: ProgramRun) -> IPv4Network:
    (cluster,) = run.of_type("aws:eks/cluster:Cluster")
    network = cluster.inputs["kubernetesNetworkConfig"]
    assert network["ipFamily"] == "ipv4"
    return IPv4Network(network["serviceIpv4Cidr"])


def _api_server_rules(run: ProgramRun) -> list[dict]:
    policy = k8s_object(run, "NetworkPolicy", "k8s-mcp", "k8s-admin")
    return [rule for rule in policy["spec"]["egress"] if rule.get("ports") == [{"protocol": "TCP", "port": 443}]]


def test_the_service_range_is_explicit_and_its_first_address_is_allowed(program: ProgramRun) -> None:
    service_range = _cluster_range(program)
    assert service_range == IPv4Network("172.20.0.0/16")
    (rule,) = _api_server_rules(program)
    assert rule["to"] == [{"ipBlock": {"cidr": f"{service_range.network_address + 1}/32"}}]


def test_the_allowed_address_follows_the_configured_range() -> None:
    run = run_with({"serviceIpv4Cidr": "10.100.0.0/16"}, preview=False)
    assert run.error is None
    assert _cluster_range(run) == IPv4Network("10.100.0.0/16")
    (rule,) = _api_server_rules(run)
    assert rule["to"] == [{"ipBlock": {"cidr": "10.100.0.1/32"}}]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        pytest.param("10.0.0.0/12", "overlaps the VPC", id="overlaps-vpc"),
        pytest.param("100.64.0.0/16", "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16", id="not-private"),
        pytest.param("172.20.0.0/25", "between /12 and /24", id="too-small"),
        pytest.param("10.32.0.0/11", "between /12 and /24", id="too-large"),
        pytest.param("172.20.0.1/16", "host bits", id="host-bits"),
    ],
)
def test_a_range_eks_would_refuse_stops_the_program(value: str, fragment: str) -> None:
    run = run_with({"serviceIpv4Cidr": value})
    assert isinstance(run.error, ConfigError), run.error
    (line,) = [p for p in run.error.problems if p.startswith("agentic-platform:serviceIpv4Cidr:")]
    assert fragment in line, line
