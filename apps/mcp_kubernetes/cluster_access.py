"""Where the Kubernetes API is and how to reach it.

Each ``ClusterAccess`` owns its own ``ApiClient`` built on a fresh ``Configuration``; nothing here reads or writes
the client library's global default configuration, so two servers (or two tests) in one process never share a
cluster by accident. ``load_cluster_access`` tries, first match wins:

1. an explicit kubeconfig path (from settings, or a test's fake cluster);
2. in-cluster: ``KUBERNETES_SERVICE_HOST`` is set and the service account token is mounted;
3. ``KUBECONFIG`` (a list of paths, as kubectl reads it), used alone when set, as kubectl does;
4. ``~/.kube/config``.

Finding none is normal on a laptop: the result is "not configured", and every tool then refuses with
``NOT_CONFIGURED_MESSAGE`` instead of the server failing to start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import urllib3
from kubernetes import config as kube_config
from kubernetes.client import ApiClient, AppsV1Api, Configuration, CoreV1Api
from kubernetes.config.incluster_config import InClusterConfigLoader

from apps.common.tools import ToolError
from apps.mcp_kubernetes.api_errors import ApiCall, translated_api_errors

__all__ = [
    "NOT_CONFIGURED_MESSAGE",
    "REQUEST_TIMEOUT",
    "ClusterAccess",
    "ClusterApis",
    "ClusterConfigError",
    "load_cluster_access",
]

logger = logging.getLogger(__name__)

NOT_CONFIGURED_MESSAGE = "No Kubernetes cluster is configured: set KUBECONFIG or run inside a cluster"

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
REQUEST_TIMEOUT: tuple[float, float] = (3.0, 10.0)
"""(connect, read) seconds for every request, so a hung API server cannot hang a tool."""

# One retry for a failed connection, none for a read: a read timeout already cost the full read budget, and
# urllib3's default (three of each) would multiply it.
_RETRIES = urllib3.Retry(total=1, connect=1, read=0, redirect=0, status=0, other=0)


class ClusterConfigError(Exception):
    """A kubeconfig or in-cluster configuration exists but cannot be used; the message says why."""


@dataclass(frozen=True)
class ClusterApis:
    """The typed API handles of one configured cluster, and the settings every request must carry."""

    core: CoreV1Api
    apps: AppsV1Api
    host: str
    request_timeout: tuple[float, float] = REQUEST_TIMEOUT

    def call(
        self, verb: str, resource: str, *, group: str = "", namespace: str | None = None, name: str | None = None
    ) -> AbstractContextManager[None]:
        """Wrap one request so its failures become ToolErrors naming this RBAC verb and resource."""
        return translated_api_errors(
            ApiCall(verb=verb, resource=resource, group=group, namespace=namespace, name=name), host=self.host
        )


class ClusterAccess:
    """A cluster the tools can reach, or the reason there is none."""

    def __init__(self, apis: ClusterApis | None, *, source: str, api_client: ApiClient | None = None) -> None:
        self._apis = apis
        self._api_client = api_client
        self.source = source
        """Where the configuration came from, for the startup log: "kubeconfig /path", "in-cluster", or why none."""

    @classmethod
    def from_api_client(
        cls, api_client: ApiClient, *, source: str, request_timeout: tuple[float, float] = REQUEST_TIMEOUT
    ) -> ClusterAccess:
        apis = ClusterApis(
            core=CoreV1Api(api_client),
            apps=AppsV1Api(api_client),
            host=api_client.configuration.host,
            request_timeout=request_timeout,
        )
        return cls(apis, source=source, api_client=api_client)

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | os.PathLike[str],
        *,
        context: str | None = None,
        request_timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ) -> ClusterAccess:
        """Load one kubeconfig file (or an ``os.pathsep``-separated list); raise ClusterConfigError if unusable."""
        configuration = _fresh_configuration()
        try:
            # persist_config=False: refreshing a token must never rewrite the user's kubeconfig.
            api_client = kube_config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=os.fspath(path),
                context=context,
                persist_config=False,
                client_configuration=configuration,
            )
        except (kube_config.ConfigException, OSError, ValueError) as exc:
            raise ClusterConfigError(f"kubeconfig {os.fspath(path)} cannot be used: {exc}") from None
        return cls.from_api_client(api_client, source=f"kubeconfig {os.fspath(path)}", request_timeout=request_timeout)

    @classmethod
    def in_cluster(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        service_account_dir: str | os.PathLike[str] = SERVICE_ACCOUNT_DIR,
        request_timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ) -> ClusterAccess:
        """The pod's service account; raise ClusterConfigError outside a cluster.

        This is ``config.load_incluster_config`` into a fresh Configuration, with the environment and the token
        directory as parameters so the caller's view of the environment is the one used. The loader re-reads the
        projected token, which the kubelet rotates, before it expires.
        """
        configuration = _fresh_configuration()
        loader = InClusterConfigLoader(  # type: ignore[no-untyped-call]
            token_filename=os.path.join(service_account_dir, "token"),
            cert_filename=os.path.join(service_account_dir, "ca.crt"),
            environ=os.environ if environ is None else environ,
        )
        try:
            loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
        except (kube_config.ConfigException, OSError) as exc:
            raise ClusterConfigError(f"in-cluster configuration cannot be used: {exc}") from None
        return cls.from_api_client(ApiClient(configuration), source="in-cluster", request_timeout=request_timeout)

    @classmethod
    def not_configured(cls, reason: str = "no kubeconfig found and not running in a cluster") -> ClusterAccess:
        return cls(None, source=f"not configured ({reason})")

    @property
    def configured(self) -> bool:
        return self._apis is not None

    def apis(self) -> ClusterApis:
        """The API handles; a ToolError every tool can let through when there is no cluster."""
        if self._apis is None:
            raise ToolError(NOT_CONFIGURED_MESSAGE)
        return self._apis

    def close(self) -> None:
        if self._api_client is not None:
            self._api_client.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> ClusterAccess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def load_cluster_access(
    kubeconfig: str | os.PathLike[str] | None = None,
    *,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
    request_timeout: tuple[float, float] = REQUEST_TIMEOUT,
) -> ClusterAccess:
    """Find a cluster as kubectl would (see the module docstring); never raises.

    A configuration that is present but unusable (a missing file named explicitly, a broken kubeconfig, a missing
    service account token) gives a not-configured access whose ``source`` says why, and a logged warning: the
    operator meant to configure a cluster, and a laptop without one must still start.
    """
    env = os.environ if environ is None else environ
    try:
        if kubeconfig is not None:
            return ClusterAccess.from_kubeconfig(kubeconfig, context=context, request_timeout=request_timeout)
        if env.get("KUBERNETES_SERVICE_HOST"):
            return ClusterAccess.in_cluster(environ=env, request_timeout=request_timeout)
        if env.get("KUBECONFIG"):
            return ClusterAccess.from_kubeconfig(env["KUBECONFIG"], context=context, request_timeout=request_timeout)
        home = env.get("HOME")
        default_kubeconfig = Path(home, ".kube", "config") if home else Path("~/.kube/config").expanduser()
        if default_kubeconfig.is_file():
            return ClusterAccess.from_kubeconfig(default_kubeconfig, context=context, request_timeout=request_timeout)
    except ClusterConfigError as exc:
        logger.warning("Kubernetes tools disabled: %s", exc)
        return ClusterAccess.not_configured(str(exc))
    return ClusterAccess.not_configured()


def _fresh_configuration() -> Configuration:
    configuration = Configuration()
    configuration.retries = _RETRIES
    return configuration
