"""Extra MCP servers from stack config (`extraMcpServers`): each a stdio server behind the bridge, in pods of its own.

A stdio server can only be reached by the process that started it, and the agent core runs 2-10 replicas;
so each extra server gets a Deployment whose pods run the bridge (`python -m apps.mcp_bridge`, built from
the kit: the platform's bearer token, body limit, probes and metrics), which starts the server as its child
and serves it over Streamable HTTP to every replica. Bridge and server share one container, because stdio
cannot cross containers: the image (`image`) is built `FROM` the platform's `mcp-bridge` image with the
server installed in it (README, "Extra MCP servers", shows it for awslabs' EKS server).

Each server is a `Workload` like the platform's own (infra/workloads.py), so its manifests come from the
same builders (infra/manifests.py): PSS restricted, read-only root filesystem, spread over zones, a PDB,
the MCP token mounted, a ServiceMonitor. Its NetworkPolicy (infra/network_policies.py) lets in only the
agent core (and Prometheus), and lets out only DNS and HTTPS when the entry asks (`egressHttps`, or `aws`:
then also the Pod Identity agent). One more policy here lets the agent core out to them; NetworkPolicies
add up, so the platform's own policy for the agent core stays as it is. An entry with `aws` gets a
ServiceAccount and a Pod Identity role with exactly the policies it names.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra import manifests
from infra.extra_mcp_config import ExtraMcpServer
from infra.identities import ServiceAccountRef
from infra.k8s_objects import create_object
from infra.network_policies import workload_policy
from infra.observability import service_monitor
from infra.pod_identity import PodIdentityRole, PodIdentityRoleArgs
from infra.workloads import MCP_TOKEN_FILE, PART_OF, Workload, service_url, workloads

__all__ = [
    "BRIDGE_COMMAND",
    "ExtraMcpServers",
    "ExtraMcpServersArgs",
    "agent_core_egress",
    "bridge_environment",
    "extra_deployment",
    "extra_workload",
]

BRIDGE_COMMAND = ["python", "-m", "apps.mcp_bridge"]
# Variables EKS Pod Identity injects into the container: the server's AWS SDK needs them to get credentials.
POD_IDENTITY_ENV = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
_REQUESTS = {"cpu": "100m", "memory": "256Mi"}
# A bridge and a server (often a Python or Node runtime of its own) in one container.
_LIMITS = {"cpu": "1", "memory": "1Gi"}
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]")


def extra_workload(server: ExtraMcpServer, namespace: str) -> Workload:
    """The server as the platform describes its own services: `mcp-<name>`, Service `mcp-<name>-service`."""
    return Workload(
        name=f"mcp-{server.name}",
        component="mcp-server",
        service=f"mcp-{server.name}-service",
        namespace=namespace,
        port=server.port,
        replicas=server.replicas,
        requests=_REQUESTS,
        limits=_LIMITS,
        service_account=f"mcp-{server.name}" if server.aws is not None else None,
        mcp_name=server.name,
        calls_aws=server.aws is not None,
        egress_https=server.egress_https or server.aws is not None,
    )


def image_version(image: str) -> str:
    """app.kubernetes.io/version for an image: its tag, or the head of its digest (label-value safe)."""
    if "@sha256:" in image:
        return image.rsplit("@sha256:", 1)[1][:12]
    return _LABEL_VALUE.sub("-", image.rsplit(":", 1)[1])[:63].strip("-._") or "unknown"


def bridge_environment(server: ExtraMcpServer, workload: Workload, region: str) -> dict[str, str]:
    """The bridge's ConfigMap: which server to run and how; the entry's own variables are set on the container."""
    passed = [*server.env]
    data = {
        "AGENTIC_LOG_LEVEL": "INFO",
        "AGENTIC_NAMESPACE": workload.namespace,
        "AGENTIC_MCP_TOKEN_FILE": MCP_TOKEN_FILE,
        "AGENTIC_BRIDGE_NAME": server.name,
        "AGENTIC_BRIDGE_SERVICE": workload.service,
        "AGENTIC_BRIDGE_COMMAND": server.command,
        "AGENTIC_BRIDGE_ARGS": json.dumps(list(server.args)),
        "AGENTIC_TOOL_TIMEOUT_SECONDS": str(server.timeout_seconds),
        "HOST": "0.0.0.0",  # noqa: S104 - inside the pod; the NetworkPolicy decides who gets in
        "PORT": str(workload.port),
    }
    if server.aws is not None:
        # Pod Identity provides credentials but no region; the AWS SDKs need one.
        data["AWS_REGION"] = region
        passed += ["AWS_REGION", *POD_IDENTITY_ENV]
    data["AGENTIC_BRIDGE_PASS_ENV"] = ",".join(passed)
    return data


def extra_deployment(server: ExtraMcpServer, workload: Workload, config_hash: pulumi.Input[str]) -> dict[str, Any]:
    """The platform's Deployment for the workload, running the bridge with the entry's variables."""
    deployment = manifests.deployment(workload, image_version(server.image), server.image, config_hash)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    # Whatever the image's own entrypoint, the pod runs the bridge, which starts the server.
    container["command"] = list(BRIDGE_COMMAND)
    if server.env:
        container["env"] = [value.manifest(name) for name, value in server.env.items()]
    return deployment


def agent_core_egress(agent_core: Workload, extras: Sequence[Workload]) -> dict[str, Any]:
    """The agent core may open connections to the extra servers, on their port, and to nothing else new."""
    rules = [
        {"to": [{"podSelector": {"matchLabels": extra.selector}}], "ports": [{"protocol": "TCP", "port": extra.port}]}
        for extra in extras
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "agent-core-extra-mcp-servers",
            "namespace": agent_core.namespace,
            "labels": {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/name": agent_core.name},
        },
        "spec": {"podSelector": {"matchLabels": agent_core.selector}, "policyTypes": ["Egress"], "egress": rules},
    }


@dataclass
class ExtraMcpServersArgs:
    servers: Sequence[ExtraMcpServer]
    namespace: str
    region: str
    # The Kubernetes API's Service address is in it (workload_policy's contract; these servers never use it).
    service_cidr: IPv4Network
    cluster_name: pulumi.Input[str]
    provider: k8s.Provider
    # The Platform component: the namespace, its default-deny policy and the MCP token's Secret come first.
    platform: pulumi.Resource
    # kube-prometheus-stack: the ServiceMonitor CRD.
    monitoring: pulumi.Resource


class ExtraMcpServers(pulumi.ComponentResource):
    urls: dict[str, str]
    """Name → in-cluster URL of each server's /mcp, as AGENTIC_MCP_SERVERS lists them."""

    def __init__(self, name: str, args: ExtraMcpServersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:platform:ExtraMcpServers", name, None, opts)
        self._name = name
        self._provider = args.provider
        platform = workloads(args.namespace)
        extras = [extra_workload(server, args.namespace) for server in args.servers]
        everything = (*platform, *extras)
        (agent_core,) = [w for w in platform if w.name == "agent-core"]
        after: list[pulumi.Resource] = [args.platform]
        if extras:
            self._object(agent_core_egress(agent_core, extras), after)
        for server, workload in zip(args.servers, extras, strict=True):
            self._server(server, workload, everything, args)
        self.urls = {workload.mcp_name or workload.name: service_url(workload) for workload in extras}
        self.register_outputs({"urls": self.urls})

    def _server(
        self, server: ExtraMcpServer, workload: Workload, everything: tuple[Workload, ...], args: ExtraMcpServersArgs
    ) -> None:
        after: list[pulumi.Resource] = [args.platform]
        version = image_version(server.image)
        policy = workload_policy(workload, everything, load_balancer_cidrs=(), service_cidr=args.service_cidr)
        self._object(policy, after)
        data = bridge_environment(server, workload, args.region)
        config_hash = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        config_map = manifests.config_map(workload, version, dict[str, pulumi.Input[str]](data))
        pod_needs = [*after, self._object(config_map, after)]
        if server.aws is not None and workload.service_account is not None:
            account = ServiceAccountRef(workload.namespace, workload.service_account)
            role = PodIdentityRole(
                f"{self._name}-{server.name}",
                PodIdentityRoleArgs(
                    cluster_name=args.cluster_name,
                    service_account=account,
                    policy=json.dumps(server.aws.policy) if server.aws.policy is not None else None,
                    managed_policy_arns=server.aws.managed_policy_arns,
                    description=f"extra MCP server {server.name} ({account})",
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            # Credentials are injected when a pod is admitted: the association must exist first.
            pod_needs += [self._object(manifests.service_account(workload, version), after), role]
        self._object(extra_deployment(server, workload, config_hash), pod_needs)
        self._object(manifests.service(workload, version), after)
        self._object(manifests.pod_disruption_budget(workload, version), after)
        self._object(service_monitor(workload), [*after, args.monitoring])

    def _object(self, manifest: dict[str, Any], after: Sequence[pulumi.Resource]) -> pulumi.CustomResource:
        opts = pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=list(after))
        return create_object(self._name, manifest, opts)
