"""Just enough of the NetworkPolicy semantics to ask "would this connection be allowed?" of the manifests.

Covers what the program uses: matchLabels selectors, namespaceSelector on `kubernetes.io/metadata.name`
(the label every namespace carries), ipBlock without `except`, numeric ports. A connection is allowed when the
source's egress and the destination's ingress both allow it; a pod no policy selects for a direction is open
in that direction, as in Kubernetes.

Connections to a Service (`allowed_via_service`) are judged as the enforcer on EKS judges them, not by the
Kubernetes API's abstract semantics. The VPC CNI's network policy agent runs eBPF programs on the pod's veth,
before kube-proxy rewrites a ClusterIP to an endpoint, so the source's egress sees the ClusterIP and the
Service port. The network policy controller (aws/amazon-network-policy-controller-k8s v1.1.7,
pkg/resolvers/endpoints.go: computeEgressEndpoints, getMatchingServiceClusterIPs, getMatchingServicePort)
compensates only for Services whose selector a podSelector peer selects: it adds their ClusterIP, on the
Service port the policy's (target) port maps to. An ipBlock peer is matched against the address as sent, the
ClusterIP. A Service without a selector (the `kubernetes` Service, whose endpoints are the control plane's
ENIs) is therefore reachable only through an ipBlock that holds its ClusterIP. The destination's ingress runs
after the rewrite: each endpoint on the target port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

__all__ = ["Endpoint", "Service", "allowed", "allowed_via_service"]


@dataclass(frozen=True)
class Endpoint:
    ip: str
    namespace: str | None = None  # None: not a pod (a load balancer, an AWS API, the API server)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    """A ClusterIP Service as a client meets it: one address and port, the endpoints behind them."""

    cluster_ip: str
    port: int
    target_port: int
    namespace: str
    selector: dict[str, str] | None  # None: endpoints managed by something else (the `kubernetes` Service)
    endpoints: tuple[Endpoint, ...]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"unsupported selector {selector}"
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _peer_matches(peer: dict[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        assert set(peer["ipBlock"]) == {"cidr"}
        return IPv4Address(other.ip) in IPv4Network(peer["ipBlock"]["cidr"])
    if other.namespace is None:
        return False
    if "namespaceSelector" in peer:
        namespace_ok = _selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": other.namespace})
    else:
        namespace_ok = other.namespace == policy_namespace
    return namespace_ok and _selects(peer.get("podSelector") or {}, other.labels)


def _port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    return not ports or any(p.get("protocol", "TCP") == protocol and p.get("port") == port for p in ports)


RuleTest = Callable[[dict[str, Any], str], bool]
"""(one rule of a policy, the policy's namespace) → does this rule admit the connection."""


def _rules_allow(policies: list[dict[str, Any]], subject: Endpoint, direction: str, rule_ok: RuleTest) -> bool:
    if subject.namespace is None:
        return True  # not a pod: no NetworkPolicy applies to it
    kind = "Ingress" if direction == "ingress" else "Egress"
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == subject.namespace
        and kind in p["spec"]["policyTypes"]
        and _selects(p["spec"]["podSelector"], subject.labels)
    ]
    if not selecting:
        return True
    return any(
        rule_ok(rule, policy["metadata"]["namespace"])
        for policy in selecting
        for rule in policy["spec"].get(direction) or []
    )


def _direction_allows(
    policies: list[dict[str, Any]], subject: Endpoint, other: Endpoint, port: int, protocol: str, direction: str
) -> bool:
    peers_key = "from" if direction == "ingress" else "to"

    def rule_ok(rule: dict[str, Any], namespace: str) -> bool:
        peers = rule.get(peers_key)
        peer_ok = not peers or any(_peer_matches(peer, namespace, other) for peer in peers)
        return peer_ok and _port_matches(rule.get("ports"), port, protocol)

    return _rules_allow(policies, subject, direction, rule_ok)


def _service_egress_allows(rule: dict[str, Any], policy_namespace: str, service: Service, protocol: str) -> bool:
    """Does one egress rule let a connection to the Service's ClusterIP through, as the controller builds it?"""
    ports = rule.get("ports")
    peers = rule.get("to")
    if peers is None:  # no `to`: every destination, on the rule's ports as sent
        return _port_matches(ports, service.port, protocol)
    for peer in peers:
        if "ipBlock" in peer:
            assert set(peer["ipBlock"]) == {"cidr"}
            # Matched against the address and port as sent: the ClusterIP and the Service port.
            if IPv4Address(service.cluster_ip) in IPv4Network(peer["ipBlock"]["cidr"]) and _port_matches(
                ports, service.port, protocol
            ):
                return True
            continue
        if service.selector is None:
            continue  # the controller adds ClusterIPs only of Services with a selector
        if "namespaceSelector" in peer:
            namespace_ok = _selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": service.namespace})
        else:
            namespace_ok = service.namespace == policy_namespace
        # labels.Set(svc.Spec.Selector) must satisfy the peer's podSelector; the policy's port names the target
        # port, which the controller maps to the Service port it allows on the ClusterIP.
        if (
            namespace_ok
            and _selects(peer.get("podSelector") or {}, service.selector)
            and _port_matches(ports, service.target_port, protocol)
        ):
            return True
    return False


def allowed(
    policies: list[dict[str, Any]], source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """A connection to ``destination``'s own address (a pod IP, a load balancer, an AWS API)."""
    return _direction_allows(policies, source, destination, port, protocol, "egress") and _direction_allows(
        policies, destination, source, port, protocol, "ingress"
    )


def allowed_via_service(
    policies: list[dict[str, Any]], source: Endpoint, service: Service, protocol: str = "TCP"
) -> bool:
    """A connection to ``service.cluster_ip:service.port``, as the CNI sees it (module docstring)."""
    egress = _rules_allow(
        policies, source, "egress", lambda rule, namespace: _service_egress_allows(rule, namespace, service, protocol)
    )
    return egress and all(
        _direction_allows(policies, endpoint, source, service.target_port, protocol, "ingress")
        for endpoint in service.endpoints
    )
