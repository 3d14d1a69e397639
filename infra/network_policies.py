"""NetworkPolicies: deny everything in both namespaces, then allow exactly the platform's own traffic.

Enforced by the VPC CNI's network policy agent (enabled on the add-on in infra/cluster.py). Allowed:
- into agent-core and the frontend: from the load balancer's subnets (target-type ip: the ALB connects to
  pod IPs from its own addresses);
- into the MCP servers: only from agent-core (k8s-mcp across namespaces);
- into every service that serves /metrics: from Prometheus in the `monitoring` namespace;
- into agent-core: from Alertmanager in the `monitoring` namespace (alerts to the trigger endpoint);
- out: DNS to CoreDNS for whoever resolves names; HTTPS for the AWS API callers and the weather service;
  the EKS Pod Identity agent (link-local 169.254.170.23:80) for AWS callers; the Kubernetes API for
  k8s-mcp; agent-core to the MCP servers.

The Kubernetes API is reached at the `kubernetes` Service's ClusterIP (KUBERNETES_SERVICE_HOST, the first
address of the service CIDR), and that is the address the CNI judges: its eBPF programs sit on the pod's
veth, before kube-proxy rewrites the ClusterIP to the control plane's ENIs (aws/amazon-network-policy-
controller-k8s v1.1.7, pkg/resolvers/endpoints.go, getMatchingServiceClusterIPs: ClusterIPs are added to a
policy only for Services whose selector matches a podSelector peer, and the `kubernetes` Service has no
selector). An ipBlock for the VPC, where those ENIs live, therefore never matches; the ClusterIP must be
allowed itself. tests/infra/test_platform_access.py evaluates Services the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from infra.monitoring import ALERTMANAGER_POD_LABELS
from infra.workloads import PART_OF, Workload

__all__ = ["POD_IDENTITY_AGENT", "api_server_service_ip", "default_deny", "workload_policy"]

POD_IDENTITY_AGENT = "169.254.170.23/32"
MONITORING_NAMESPACE = "monitoring"
_NAMESPACE_NAME = "kubernetes.io/metadata.name"


def api_server_service_ip(service_cidr: IPv4Network) -> IPv4Address:
    """The `kubernetes` Service's ClusterIP: the API server takes the first address of the service range
    (kubernetes/kubernetes pkg/controlplane/services.go, ServiceIPRange: GetIndexedIP(serviceClusterIPRange, 1))."""
    return service_cidr.network_address + 1


def _ns(name: str) -> dict[str, Any]:
    return {"matchLabels": {_NAMESPACE_NAME: name}}


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def default_deny(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": namespace, "labels": {"app.kubernetes.io/part-of": PART_OF}},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def _dns() -> dict[str, Any]:
    return {
        "to": [{"namespaceSelector": _ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def _ingress(workload: Workload, agent_core: Workload, load_balancer_cidrs: Sequence[str]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    if workload.component in ("api", "frontend"):
        rules.append(
            {"from": [{"ipBlock": {"cidr": cidr}} for cidr in load_balancer_cidrs], "ports": _tcp(workload.port)}
        )
    if workload.mcp_name:
        peer: dict[str, Any] = {"podSelector": {"matchLabels": agent_core.selector}}
        if workload.namespace != agent_core.namespace:
            peer["namespaceSelector"] = _ns(agent_core.namespace)
        rules.append({"from": [peer], "ports": _tcp(workload.port)})
    if workload.scrapes_metrics:
        prometheus = {
            "namespaceSelector": _ns(MONITORING_NAMESPACE),
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
        rules.append({"from": [prometheus], "ports": _tcp(workload.port)})
    if workload.name == agent_core.name:
        alertmanager = {
            "namespaceSelector": _ns(MONITORING_NAMESPACE),
            "podSelector": {"matchLabels": ALERTMANAGER_POD_LABELS},
        }
        rules.append({"from": [alertmanager], "ports": _tcp(workload.port)})
    return rules


def _egress(workload: Workload, everything: Sequence[Workload], api_server: IPv4Address) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    if workload.egress_https or workload.needs_kubernetes_api or workload.name == "agent-core":
        rules.append(_dns())
    if workload.egress_https:
        # AWS APIs (no VPC endpoints) and wttr.in have no fixed addresses: HTTPS anywhere, nothing else.
        rules.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": _tcp(443)})
    if workload.calls_aws:
        rules.append({"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT}}], "ports": _tcp(80)})
    if workload.needs_kubernetes_api:
        rules.append({"to": [{"ipBlock": {"cidr": f"{api_server}/32"}}], "ports": _tcp(443)})
    if workload.name == "agent-core":
        for server in (w for w in everything if w.mcp_name):
            peer: dict[str, Any] = {"podSelector": {"matchLabels": server.selector}}
            if server.namespace != workload.namespace:
                peer["namespaceSelector"] = _ns(server.namespace)
            rules.append({"to": [peer], "ports": _tcp(server.port)})
    return rules


def workload_policy(
    workload: Workload,
    everything: Sequence[Workload],
    *,
    load_balancer_cidrs: Sequence[str],
    service_cidr: IPv4Network,
) -> dict[str, Any]:
    (agent_core,) = [w for w in everything if w.name == "agent-core"]
    spec: dict[str, Any] = {"podSelector": {"matchLabels": workload.selector}, "policyTypes": ["Ingress", "Egress"]}
    ingress = _ingress(workload, agent_core, load_balancer_cidrs)
    egress = _egress(workload, everything, api_server_service_ip(service_cidr))
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": workload.name,
            "namespace": workload.namespace,
            "labels": {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/name": workload.name},
        },
        "spec": spec,
    }
