"""The platform's six services as data: what each runs, where, with which identity, resources and scaling.

Everything the Platform component creates for a service (ConfigMap, Deployment, Service, HPA, PDB,
ServiceMonitor, NetworkPolicy) is derived from one `Workload` here, so names agree everywhere. The Service
names and namespaces are contracts with the apps: each MCP server accepts its own Service names in its
Host allow-list (apps/common/security.py, `SERVICE_NAME` in apps/mcp_*/server.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.identities import K8S_ADMIN_NAMESPACE

__all__ = [
    "API_KEYS_FILE",
    "DATABASE_PATH",
    "GRACE_SECONDS",
    "MCP_TOKEN_FILE",
    "MIN_REPLICAS",
    "PART_OF",
    "PRE_STOP_SECONDS",
    "RUN_DRAIN_SECONDS",
    "RUN_LEASE_SECONDS",
    "TERMINATION_GRACE_SECONDS",
    "Autoscaling",
    "Workload",
    "WorkloadEnvironment",
    "mcp_servers_value",
    "service_url",
    "workload_environment",
    "workloads",
]

PART_OF = "agentic-platform"
# uvicorn's timeout_graceful_shutdown (apps/common/service.py GRACE_SECONDS; tests/infra check they agree).
GRACE_SECONDS = 10
# Endpoints and the ALB's target group need a few seconds to stop sending new requests to a terminating
# pod; it keeps serving during this sleep, then SIGTERM starts uvicorn's drain.
PRE_STOP_SECONDS = 15
TERMINATION_GRACE_SECONDS = PRE_STOP_SECONDS + GRACE_SECONDS + 5
# After uvicorn's drain the agent core hands its runs off at their next step boundary for up to this
# long (AGENTIC_DRAIN_SECONDS); its pods' grace covers it. A lease it could not release lapses in
# RUN_LEASE_SECONDS, after which another replica resumes the run.
RUN_DRAIN_SECONDS = 20
RUN_LEASE_SECONDS = 15
APP_PORT = 8000
FRONTEND_PORT = 8080
API_KEYS_FILE = "/etc/agentic/api-keys/keys.json"
MCP_TOKEN_FILE = "/etc/agentic/mcp-token/token"  # noqa: S105 - a path, not a token
# Where the database image builds its sample database (docker/database-mcp.Dockerfile).
DATABASE_PATH = "/app/data/sample.db"


@dataclass(frozen=True)
class Autoscaling:
    min_replicas: int
    max_replicas: int
    cpu_utilization: int
    # (pods, period seconds) the HPA may add or remove at most; None: the Kubernetes defaults.
    scale_up: tuple[int, int] | None = None
    scale_down: tuple[int, int] | None = None


@dataclass(frozen=True)
class Workload:
    name: str  # Deployment, app.kubernetes.io/name, image and ConfigMap prefix
    component: str  # app.kubernetes.io/component
    service: str  # the Service's name
    namespace: str
    port: int
    replicas: int
    requests: Mapping[str, str]
    limits: Mapping[str, str]
    # None: the pod runs as the namespace's default account, with no token and no AWS role.
    service_account: str | None = None
    needs_kubernetes_api: bool = False
    autoscaling: Autoscaling | None = None
    # The server's name in AGENTIC_MCP_SERVERS (the prefix of its tools), for MCP servers.
    mcp_name: str | None = None
    calls_aws: bool = False
    # Needs DNS and HTTPS to the internet (AWS APIs, the weather service).
    egress_https: bool = False
    # Time the process needs after uvicorn's drain to finish or hand off its own work at shutdown.
    drain_seconds: int = 0

    def __post_init__(self) -> None:
        # Every Deployment has a PDB with maxUnavailable 1: with one replica it would let a drain (Karpenter
        # consolidates after 30 s) take the whole service down; with minAvailable 1 it would block the drain.
        lowest = self.autoscaling.min_replicas if self.autoscaling else self.replicas
        if min(self.replicas, lowest) < MIN_REPLICAS:
            raise ValueError(f"{self.name}: at least {MIN_REPLICAS} replicas, so a node drain never takes them all")

    @property
    def termination_grace_seconds(self) -> int:
        return TERMINATION_GRACE_SECONDS + self.drain_seconds

    @property
    def selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/part-of": PART_OF}

    def metadata_labels(self, version: str) -> dict[str, str]:
        return {
            **self.selector,
            "app.kubernetes.io/component": self.component,
            "app.kubernetes.io/version": version,
        }

    @property
    def config_map(self) -> str:
        return f"{self.name}-config"

    @property
    def scrapes_metrics(self) -> bool:
        """Every Python service serves Prometheus text at /metrics; nginx serves none."""
        return self.component != "frontend"


# Two pods at least, spread over zones and nodes (infra/manifests.py), each Deployment with a PDB allowing one
# of them to be evicted at a time: a node drains, the service stays up.
MIN_REPLICAS = 2
_SMALL = {"cpu": "100m", "memory": "128Mi"}
_PYTHON_LIMITS = {"cpu": "500m", "memory": "512Mi"}


def workloads(apps_namespace: str) -> tuple[Workload, ...]:
    """The platform's services, in the order they are declared (the MCP servers before their client)."""

    def mcp(name: str, mcp_name: str, **extra: Any) -> Workload:
        return Workload(
            name=name,
            component="mcp-server",
            service=f"{name}-service",
            namespace=extra.pop("namespace", apps_namespace),
            port=APP_PORT,
            replicas=MIN_REPLICAS,
            requests=_SMALL,
            limits=_PYTHON_LIMITS,
            autoscaling=Autoscaling(min_replicas=MIN_REPLICAS, max_replicas=5, cpu_utilization=70),
            mcp_name=mcp_name,
            **extra,
        )

    return (
        mcp("aws-mcp", "aws", service_account="aws-mcp", calls_aws=True, egress_https=True),
        mcp("database-mcp", "database"),
        mcp("custom-mcp", "custom", service_account="custom-mcp", calls_aws=True, egress_https=True),
        mcp(
            "k8s-mcp",
            "kubernetes",
            namespace=K8S_ADMIN_NAMESPACE,
            service_account="k8s-mcp",
            needs_kubernetes_api=True,
        ),
        Workload(
            name="agent-core",
            component="api",
            service="agent-core-service",
            namespace=apps_namespace,
            port=APP_PORT,
            replicas=2,
            requests={"cpu": "250m", "memory": "256Mi"},
            limits=_PYTHON_LIMITS,
            service_account="agent-core",
            autoscaling=Autoscaling(
                min_replicas=2, max_replicas=10, cpu_utilization=80, scale_up=(2, 60), scale_down=(1, 300)
            ),
            calls_aws=True,
            egress_https=True,
            drain_seconds=RUN_DRAIN_SECONDS,
        ),
        Workload(
            name="frontend",
            component="frontend",
            service="agentic-frontend-service",
            namespace=apps_namespace,
            port=FRONTEND_PORT,
            replicas=MIN_REPLICAS,
            requests=_SMALL,
            limits={"cpu": "200m", "memory": "128Mi"},
        ),
    )


def service_url(workload: Workload) -> str:
    """The in-cluster URL of a workload's MCP endpoint, through its Service (port 80)."""
    return f"http://{workload.service}.{workload.namespace}.svc.cluster.local/mcp"


def mcp_servers_value(all_workloads: tuple[Workload, ...]) -> str:
    """AGENTIC_MCP_SERVERS: `name=url,…` for every MCP server."""
    return ",".join(f"{w.mcp_name}={service_url(w)}" for w in all_workloads if w.mcp_name)


@dataclass(frozen=True)
class WorkloadEnvironment:
    """What the program knows that the services need, beyond the fixed catalogue."""

    region: str
    bedrock_model_id: str
    runs_table: pulumi.Input[str]
    kv_table: pulumi.Input[str]
    scalable_namespaces: tuple[str, ...]


def workload_environment(
    workload: Workload, everything: tuple[Workload, ...], env: WorkloadEnvironment
) -> dict[str, pulumi.Input[str]]:
    """The service's ConfigMap: its AGENTIC_* variables (secrets are mounted, never listed here)."""
    if workload.component == "frontend":
        return {}
    data: dict[str, pulumi.Input[str]] = {"AGENTIC_LOG_LEVEL": "INFO"}
    if workload.calls_aws:
        # Pod Identity provides credentials but no region; boto3 needs one.
        data["AWS_REGION"] = env.region
    if workload.mcp_name:
        # The Host allow-list accepts this server's Service names in this namespace.
        data["AGENTIC_NAMESPACE"] = workload.namespace
        data["AGENTIC_MCP_TOKEN_FILE"] = MCP_TOKEN_FILE
    if workload.name == "agent-core":
        data.update(
            {
                "AGENTIC_MCP_SERVERS": mcp_servers_value(everything),
                "AGENTIC_REASONER": "bedrock",
                "AGENTIC_BEDROCK_MODEL_ID": env.bedrock_model_id,
                "AGENTIC_STATE": pulumi.Output.concat("dynamodb://", env.runs_table),
                "AGENTIC_API_KEYS_FILE": API_KEYS_FILE,
                "AGENTIC_DRAIN_SECONDS": str(workload.drain_seconds),
                "AGENTIC_LEASE_SECONDS": str(RUN_LEASE_SECONDS),
            }
        )
    elif workload.name == "aws-mcp":
        data["AGENTIC_BEDROCK_MODEL_ID"] = env.bedrock_model_id
    elif workload.name == "database-mcp":
        # Built into the image; the root filesystem is read-only, so nothing may be built at start.
        data["AGENTIC_DATABASE_PATH"] = DATABASE_PATH
        data["AGENTIC_BUILD_SAMPLE_DATABASE"] = "false"
    elif workload.name == "custom-mcp":
        data["AGENTIC_KV_STORE"] = pulumi.Output.concat("dynamodb://", env.kv_table)
    elif workload.name == "k8s-mcp":
        data["AGENTIC_SCALABLE_NAMESPACES"] = ",".join(env.scalable_namespaces)
    return data
