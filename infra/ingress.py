"""`agentic-ingress`: one ALB (AWS Load Balancer Controller), `/` → the dashboard, `/api` → agent-core.

The dashboard calls the API on its own origin, so no CORS is configured anywhere. Targets are pod IPs
(target-type ip), registered through pod readiness gates (the apps namespace carries the controller's
injection label) so a rollout never leaves the ALB without a healthy target.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.cidr import SubnetPlan
from infra.config import IngressConfig
from infra.workloads import PART_OF, TERMINATION_GRACE_SECONDS, Workload

__all__ = ["INGRESS_NAME", "ingress_manifest", "ingress_urls", "load_balancer_cidrs"]

INGRESS_NAME = "agentic-ingress"
_A = "alb.ingress.kubernetes.io/"
A2A_AGENT_CARD_PATH = "/.well-known/agent-card.json"
"""Where A2A clients fetch an agent's card (the a2a-sdk's ``AGENT_CARD_WELL_KNOWN_PATH``; a test holds them equal)."""
# TLS 1.2 and 1.3 only, forward-secret ciphers.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Runs that are followed live (SSE) or run to completion (POST /api) outlast the default 60 s. Targets keep
# idle connections open longer than this (apps/common/service.py KEEP_ALIVE_SECONDS, nginx's
# keepalive_timeout) so that the ALB, not the target, closes them; tests/infra check both.
IDLE_TIMEOUT_SECONDS = 300


def listener_annotations(certificate_arn: str | None, *, redirect_http: bool) -> dict[str, str]:
    """An ALB's listeners: HTTPS with the certificate and the TLS policy (HTTP redirected to it, if asked),
    or plain HTTP without a certificate. Every ALB of the platform takes them from here."""
    if not certificate_arn:
        return {_A + "listen-ports": '[{"HTTP": 80}]'}
    annotations = {_A + "certificate-arn": certificate_arn, _A + "ssl-policy": SSL_POLICY}
    if redirect_http:
        annotations |= {_A + "listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]', _A + "ssl-redirect": "443"}
    else:
        annotations[_A + "listen-ports"] = '[{"HTTPS": 443}]'
    return annotations


def _annotations(cfg: IngressConfig) -> dict[str, str]:
    annotations = {
        _A + "scheme": cfg.scheme,
        _A + "target-type": "ip",
        _A + "healthcheck-path": "/health",
        _A + "success-codes": "200",
        _A + "load-balancer-attributes": (
            f"idle_timeout.timeout_seconds={IDLE_TIMEOUT_SECONDS},routing.http.drop_invalid_header_fields.enabled=true"
        ),
        # In-flight requests finish within the pods' own drain.
        _A + "target-group-attributes": f"deregistration_delay.timeout_seconds={TERMINATION_GRACE_SECONDS}",
        **listener_annotations(cfg.certificate_arn, redirect_http=True),
    }
    if cfg.group_name:
        annotations[_A + "group.name"] = cfg.group_name
    if cfg.allowed_cidrs:
        annotations[_A + "inbound-cidrs"] = ",".join(cfg.allowed_cidrs)
    return annotations


def load_balancer_cidrs(cfg: IngressConfig, plan: SubnetPlan) -> list[str]:
    """The subnets the controller puts the ALB in (by their role tags): the sources its targets see."""
    return [str(net) for net in (plan.public if cfg.scheme == "internet-facing" else plan.private)]


def ingress_manifest(cfg: IngressConfig, frontend: Workload, agent_core: Workload) -> dict[str, Any]:
    def path(prefix: str, backend: Workload, path_type: str = "Prefix") -> dict[str, Any]:
        return {
            "path": prefix,
            "pathType": path_type,
            "backend": {"service": {"name": backend.service, "port": {"number": 80}}},
        }

    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": INGRESS_NAME,
            "namespace": agent_core.namespace,
            "labels": {"app.kubernetes.io/part-of": PART_OF},
            "annotations": _annotations(cfg),
        },
        "spec": {
            "ingressClassName": "alb",
            # The longest prefix wins: /api and /api/... go to agent-core, everything else to the dashboard; and
            # the A2A agent card, which A2A clients fetch from this exact well-known path, to agent-core too.
            "rules": [
                {
                    "http": {
                        "paths": [
                            path(A2A_AGENT_CARD_PATH, agent_core, "Exact"),
                            path("/api", agent_core),
                            path("/", frontend),
                        ]
                    }
                }
            ],
        },
    }


def ingress_urls(
    cfg: IngressConfig, status: pulumi.Output[k8s.networking.v1.outputs.IngressStatus | None]
) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """(dashboard URL, API URL) from the ALB's hostname, which pulumi-kubernetes waits for."""
    scheme = "https" if cfg.certificate_arn else "http"

    def base(value: k8s.networking.v1.outputs.IngressStatus | None) -> str:
        ingress = (value.load_balancer.ingress if value and value.load_balancer else None) or []
        if not ingress or not ingress[0].hostname:
            raise pulumi.RunError(f"{INGRESS_NAME} has no load balancer address; is the ALB controller running?")
        return f"{scheme}://{ingress[0].hostname}"

    root = status.apply(base)
    return root.apply(lambda url: url + "/"), root.apply(lambda url: url + "/api")
