"""What the Kubernetes tools need: a cluster (configured, and its API answering) and, for scaling, an allow-list.

No cluster configured makes every tool unavailable (setting: ``KUBECONFIG``): nothing but a configuration change
helps. A configured cluster whose API server did not answer the last probe is reported not ok but transient:
the tools stay offered, since the next call may well get through and its error then says what happened. The
probe is readiness's own (``readiness.ApiServerProbe``: a worker thread, short timeouts, cached for seconds), so
listing tools adds no API traffic of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.common.capabilities import Capability
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.readiness import ApiServerProbe
from apps.mcp_kubernetes.settings import SCALABLE_NAMESPACES_SETTING

__all__ = ["CLUSTER_SETTING", "KubernetesCapabilities"]

CLUSTER_SETTING = "KUBECONFIG"
SCALE_TOOL = "scale_deployment"


class KubernetesCapabilities:
    """A ``CapabilityCheck`` for one server: its cluster access, readiness probe, tools and scaling allow-list."""

    def __init__(
        self,
        access: ClusterAccess,
        probe: ApiServerProbe,
        *,
        tools: Sequence[str],
        scalable_namespaces: frozenset[str],
        max_replicas: int,
    ) -> None:
        self._access = access
        self._probe = probe
        self._tools = tuple(tools)
        self._scalable = scalable_namespaces
        self._max_replicas = max_replicas

    async def __call__(self) -> list[Capability]:
        return [await self._cluster(), self._scaling()]

    async def _cluster(self) -> Capability:
        if not self._access.configured:
            return Capability(
                name="kubernetes cluster",
                ok=False,
                detail=self._access.source,
                setting=CLUSTER_SETTING,
                tools=self._tools,
            )
        try:
            await self._probe()
        except Exception as exc:  # the probe's message says how the API server failed to answer
            return Capability(
                name="kubernetes cluster",
                ok=False,
                detail=f"{self._access.source}: the API server did not answer: {str(exc)[:300]}",
                setting=CLUSTER_SETTING,
                tools=self._tools,
                transient=True,
            )
        return Capability(
            name="kubernetes cluster",
            ok=True,
            detail=f"{self._access.source}: the API server answers",
            setting=CLUSTER_SETTING,
            tools=self._tools,
        )

    def _scaling(self) -> Capability:
        if not self._scalable:
            detail = "no namespace may be scaled"
        else:
            allowed = ", ".join(sorted(self._scalable))
            detail = f"allowed in {allowed}, at most {self._max_replicas} replicas"
        return Capability(
            name="scaling",
            ok=bool(self._scalable),
            detail=detail,
            setting=SCALABLE_NAMESPACES_SETTING,
            tools=(SCALE_TOOL,) if SCALE_TOOL in self._tools else (),
        )
