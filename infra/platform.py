"""The platform on the cluster: namespaces, the six services and everything around them.

Each service (infra/workloads.py) gets a ConfigMap, a Deployment, a Service, a NetworkPolicy and, where it
applies, a ServiceAccount bound to its Pod Identity role, an HPA, a PDB and a ServiceMonitor. Around them:
default-deny NetworkPolicies, k8s-mcp's RBAC, the ALB Ingress, generated credentials and the Grafana
dashboard. The manifests are built as plain data (infra/manifests.py and friends) and turned into resources
by infra/k8s_objects.py.

Credentials: the operator's API key is generated here, exported only as a secret output, and the agent core
gets only its SHA-256 (the format of AGENTIC_API_KEYS_FILE, apps/agent_core/auth.py). A bearer token,
also generated, guards every MCP server's /mcp (AGENTIC_MCP_TOKEN_FILE) and is sent by the agent core.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import manifests
from infra.config import AppsConfig, IngressConfig
from infra.extra_mcp_servers import extra_workload
from infra.identities import K8S_ADMIN_NAMESPACE
from infra.ingress import ingress_manifest, ingress_urls
from infra.k8s_objects import create_object
from infra.network_policies import default_deny, workload_policy
from infra.observability import dashboard_config_map, service_monitor
from infra.rbac import k8s_mcp_rbac
from infra.workloads import PART_OF, Workload, WorkloadEnvironment, workload_environment, workloads

__all__ = ["OPERATOR_KEY_NAME", "OPERATOR_ROLES", "Platform", "PlatformArgs", "api_keys_document"]

OPERATOR_KEY_NAME = "operator"
OPERATOR_ROLES = ("operator", "approver")
# Asks the AWS Load Balancer Controller to gate pod readiness on target health in the ALB.
READINESS_GATE_LABEL = {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}


@dataclass
class PlatformArgs:
    apps: AppsConfig
    ingress: IngressConfig
    region: str
    # The cluster's Service range: k8s-mcp's egress allows the API server's Service address in it.
    service_cidr: IPv4Network
    # Where the ALB's nodes live (public subnets when internet-facing): the only sources allowed in.
    load_balancer_cidrs: Sequence[str]
    runs_table_name: pulumi.Input[str]
    kv_table_name: pulumi.Input[str]
    # Image reference per workload name (repository@digest).
    images: Mapping[str, pulumi.Input[str]]
    # app.kubernetes.io/version: the images' content tag.
    version: str
    provider: k8s.Provider
    cluster_ready: Sequence[pulumi.Resource]
    # Pod Identity associations: credentials are injected when a pod is admitted, so they come first.
    identities: Sequence[pulumi.Resource]
    ingress_controller: pulumi.Resource
    # kube-prometheus-stack: the ServiceMonitor CRD and Grafana's dashboard sidecar.
    monitoring: pulumi.Resource


def api_keys_document(operator_key: str) -> str:
    """AGENTIC_API_KEYS_FILE's content for the generated key: its digest and roles, never the key."""
    digest = hashlib.sha256(operator_key.encode()).hexdigest()
    return json.dumps([{"name": OPERATOR_KEY_NAME, "roles": list(OPERATOR_ROLES), "sha256": digest}], indent=2)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Platform(pulumi.ComponentResource):
    dashboard_url: pulumi.Output[str]
    api_url: pulumi.Output[str]
    api_key: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:platform:Platform", name, None, opts)
        self._name = name
        self._provider = args.provider
        apps_ns = args.apps.namespace
        everything = workloads(apps_ns)
        # Deployed by ExtraMcpServers (infra/extra_mcp_servers.py); the agent core lists them in AGENTIC_MCP_SERVERS.
        self._extras = tuple(extra_workload(server, apps_ns) for server in args.apps.extra_mcp_servers)
        by_name = {w.name: w for w in everything}
        base = [*args.cluster_ready]

        namespaces = {
            apps_ns: self._object(
                manifests.namespace(apps_ns, {**READINESS_GATE_LABEL, "app.kubernetes.io/part-of": PART_OF}), base
            ),
            K8S_ADMIN_NAMESPACE: self._object(
                manifests.namespace(K8S_ADMIN_NAMESPACE, {"app.kubernetes.io/part-of": PART_OF}), base
            ),
        }
        for namespace in namespaces:
            self._object(default_deny(namespace), [namespaces[namespace]])

        secrets = self._credentials(apps_ns, namespaces)
        k8s_mcp = args.apps.service_accounts.k8s_mcp
        rbac = [
            self._object(item, [namespaces[ns]] if (ns := item["metadata"].get("namespace")) in namespaces else base)
            for item in k8s_mcp_rbac(k8s_mcp.namespace, k8s_mcp.name, args.apps.scalable_namespaces)
        ]

        env = WorkloadEnvironment(
            region=args.region,
            bedrock_model_id=args.apps.bedrock_model_id,
            runs_table=args.runs_table_name,
            kv_table=args.kv_table_name,
            scalable_namespaces=args.apps.scalable_namespaces,
        )
        services: list[pulumi.Resource] = []
        for workload in everything:
            services.append(
                self._workload(workload, everything, env, args, namespaces[workload.namespace], secrets, rbac)
            )

        ingress = self._object(
            ingress_manifest(args.ingress, by_name["frontend"], by_name["agent-core"]),
            [*services, args.ingress_controller],
        )
        assert isinstance(ingress, k8s.networking.v1.Ingress)
        self._object(dashboard_config_map(), [args.monitoring])

        self.dashboard_url, self.api_url = ingress_urls(args.ingress, ingress.status)
        self.register_outputs({"dashboardUrl": self.dashboard_url, "apiUrl": self.api_url, "apiKey": self.api_key})

    def _object(
        self, manifest: dict[str, Any], after: Sequence[pulumi.Resource], **extra: Any
    ) -> pulumi.CustomResource:
        opts = pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=list(after), **extra)
        return create_object(self._name, manifest, opts)

    def _credentials(self, apps_ns: str, namespaces: Mapping[str, pulumi.Resource]) -> list[pulumi.Resource]:
        """The operator's API key (digest in a Secret, key as a secret output) and the MCP bearer token."""
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/part-of": PART_OF}
        # 32 random bytes' worth, as `python -m apps.agent_core.auth` makes them ("awp_" + 43 characters).
        key = random.RandomPassword(f"{self._name}-operator-api-key", length=43, special=False, opts=child)
        self.api_key = pulumi.Output.secret(pulumi.Output.concat("awp_", key.result))
        keys_file: pulumi.Output[str] = self.api_key.apply(api_keys_document)  # secret, as the key it derives from
        token = random.RandomPassword(f"{self._name}-mcp-token", length=48, special=False, opts=child)
        secret_token: pulumi.Output[str] = pulumi.Output.secret(token.result)
        created: list[pulumi.Resource] = [
            self._object(
                manifests.secret(
                    manifests.API_KEYS_SECRET,
                    apps_ns,
                    {**labels, "app.kubernetes.io/name": "agent-core"},
                    {"keys.json": keys_file},
                ),
                [namespaces[apps_ns]],
            )
        ]
        # A Secret is read only in its own namespace: k8s-mcp needs its own copy of the token.
        for namespace, resource in namespaces.items():
            created.append(
                self._object(
                    manifests.secret(manifests.MCP_TOKEN_SECRET, namespace, labels, {"token": secret_token}), [resource]
                )
            )
        return created

    def _workload(
        self,
        workload: Workload,
        everything: tuple[Workload, ...],
        env: WorkloadEnvironment,
        args: PlatformArgs,
        namespace: pulumi.Resource,
        secrets: Sequence[pulumi.Resource],
        rbac: Sequence[pulumi.Resource],
    ) -> pulumi.Resource:
        version = args.version
        after: list[pulumi.Resource] = [namespace]
        self._object(
            workload_policy(
                everything=everything,
                workload=workload,
                load_balancer_cidrs=args.load_balancer_cidrs,
                service_cidr=args.service_cidr,
            ),
            after,
        )
        data = workload_environment(workload, (*everything, *self._extras), env)
        config_hash = pulumi.Output.json_dumps(data).apply(_sha256)
        pod_needs: list[pulumi.Resource] = [*after, *secrets, args.ingress_controller]
        if data:
            pod_needs.append(self._object(manifests.config_map(workload, version, data), after))
        if workload.service_account:
            pod_needs.append(self._object(manifests.service_account(workload, version), after))
            pod_needs.extend(args.identities)
        if workload.needs_kubernetes_api:
            pod_needs.extend(rbac)
        scaled = workload.autoscaling is not None
        self._object(
            manifests.deployment(workload, version, args.images[workload.name], config_hash),
            pod_needs,
            # The HPA owns the replica count once the Deployment exists; a later `pulumi up` must not reset it.
            ignore_changes=["spec.replicas"] if scaled else None,
        )
        service = self._object(manifests.service(workload, version), after)
        if scaled:
            self._object(manifests.horizontal_pod_autoscaler(workload, version), after)
        # Every workload runs at least two replicas (infra/workloads.py): one may be evicted at a time.
        self._object(manifests.pod_disruption_budget(workload, version), after)
        if workload.scrapes_metrics:
            self._object(service_monitor(workload), [*after, args.monitoring])
        return service
