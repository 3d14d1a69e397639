"""Readiness: does the Kubernetes API answer this server?

Every tool needs the API server. When the path to it is broken (a NetworkPolicy that drops it, a routing or DNS
fault, a revoked token) the pod should say so on ``/ready`` and leave its Service, instead of passing readiness
while each tool call times out. The probe asks for ``/version``, which every caller may read (the
``system:public-info-viewer`` ClusterRole), so it needs no RBAC of its own and says nothing about permissions,
only about reachability and credentials.

It runs in a worker thread (the client is blocking) with a short timeout, under the readiness budget of
``apps.common.mcp_app``, and its outcome is kept for a few seconds: kubelet probes every few seconds and so may
several callers at once, and none of that should become API traffic. Without a configured cluster (``make dev``
on a laptop) the check is reported as skipped and the server stays ready: its tools then explain that no
cluster is configured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import anyio.to_thread
from kubernetes.client import VersionApi

from apps.common.tools import ToolError
from apps.mcp_kubernetes.api_errors import ApiCall, translated_api_errors
from apps.mcp_kubernetes.cluster_access import ClusterAccess

__all__ = ["PROBE_TIMEOUT", "ApiServerProbe", "ApiServerUnreachable"]

PROBE_TIMEOUT: tuple[float, float] = (0.7, 1.0)
"""(connect, read) seconds: with the client's one connect retry this stays within the 2 s readiness budget."""
CACHE_SECONDS = 5.0
# A non-resource URL: granted to every caller by system:public-info-viewer, not by k8s-mcp's ClusterRole (whose
# rules tests/infra derive from the `apis.call(...)` requests in this package), so it is not made through one.
_VERSION = ApiCall(verb="get", resource="/version")


class ApiServerUnreachable(Exception):
    """The API server did not answer the probe; the message says how it failed."""


class ApiServerProbe:
    """A readiness check (``apps.common.mcp_app.ReadinessCheck``) for the cluster ``access`` reaches."""

    def __init__(
        self,
        access: ClusterAccess,
        *,
        timeout: tuple[float, float] = PROBE_TIMEOUT,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._access = access
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # (when it was probed, None if the API answered or the reason it did not)
        self._last: tuple[float, str | None] | None = None

    async def __call__(self) -> str | None:
        if not self._access.configured:
            return f"skipped: not configured ({self._access.source})"
        with self._lock:
            last = self._last
        if last is None or self._clock() - last[0] >= self._cache_seconds:
            # Abandoned if the readiness budget runs out first; the thread still records what it found.
            failure = await anyio.to_thread.run_sync(self._probe, abandon_on_cancel=True)
        else:
            failure = last[1]
        if failure is not None:
            raise ApiServerUnreachable(failure)
        return None

    def _probe(self) -> str | None:
        apis = self._access.apis()
        failure: str | None = None
        try:
            with translated_api_errors(_VERSION, host=apis.host):
                VersionApi(apis.core.api_client).get_code(_request_timeout=self._timeout)
        except ToolError as exc:
            failure = str(exc)
        with self._lock:
            self._last = (self._clock(), failure)
        return failure
