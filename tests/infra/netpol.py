"""Just enough of the NetworkPolicy semantics to ask "would this connection be allowed?" of the manifests.

Covers what the program uses: matchLabels selectors, namespaceSelector on `kubernetes.io/metadata.name`
(the label every namespace carries), ipBlock without `except`, numeric ports. A connection is allowed when the
source's egress and the destination's ingress both allow it; a pod no policy selects for a direction is open
in that direction, as in Kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

__all__ = ["Endpoint", "allowed"]


@dataclass(frozen=True)
class Endpoint:
    ip: str
    namespace: str | None = None  # None: not a pod (a load balancer, an AWS API, the API server)
    labels: dict[str, str] = field(default_factory=dict)


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


def _direction_allows(
    policies: list[dict[str, Any]], subject: Endpoint, other: Endpoint, port: int, protocol: str, direction: str
) -> bool:
    if subject.namespace is None:
        return True  # not a pod: no NetworkPolicy applies to it
    kind, peers_key = ("Ingress", "from") if direction == "ingress" else ("Egress", "to")
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == subject.namespace
        and kind in p["spec"]["policyTypes"]
        and _selects(p["spec"]["podSelector"], subject.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(direction) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(peer, policy["metadata"]["namespace"], other) for peer in peers)
            if peer_ok and _port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def allowed(
    policies: list[dict[str, Any]], source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    return _direction_allows(policies, source, destination, port, protocol, "egress") and _direction_allows(
        policies, destination, source, port, protocol, "ingress"
    )
