"""The Kubernetes MCP server: pods, cluster status, troubleshooting and bounded scaling."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.mcp_kubernetes.capabilities import KubernetesCapabilities
from apps.mcp_kubernetes.cluster_access import ClusterAccess, load_cluster_access
from apps.mcp_kubernetes.readiness import ApiServerProbe
from apps.mcp_kubernetes.settings import KubernetesSettings
from apps.mcp_kubernetes.tools import build_tools

SERVICE_NAME = "k8s-mcp-service"
log = logging.getLogger(__name__)


def create_app(settings: KubernetesSettings, access: ClusterAccess | None = None) -> Starlette:
    """The server for ``access`` (default: the cluster kubectl would use, or none; see cluster_access)."""
    access = access if access is not None else load_cluster_access()
    log.info("kubernetes access", extra={"source": access.source})

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        try:
            yield
        finally:
            access.close()

    scalable = frozenset(settings.scalable_namespaces)
    tools = build_tools(access, scalable_namespaces=scalable, max_replicas=settings.max_replicas)
    probe = ApiServerProbe(access)
    spec = McpServerSpec(
        name="kubernetes",
        service=SERVICE_NAME,
        version="1.0.0",
        instructions="Read pods, nodes, deployments and events of one Kubernetes cluster; scale allowed deployments.",
        tools=tools,
        # Not ready while the API server does not answer: every tool needs it. Skipped without a cluster.
        readiness={"kubernetes_api": probe},
        lifespan=lifespan,
        capabilities=KubernetesCapabilities(
            access,
            probe,
            tools=[tool.tool_name for tool in tools],
            scalable_namespaces=scalable,
            max_replicas=settings.max_replicas,
        ),
    )
    return create_mcp_app(spec, settings)
