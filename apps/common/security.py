"""Who may reach /mcp: Host and Origin allow-lists, and an optional bearer token."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def service_host_names(service: str, namespace: str) -> list[str]:
    """Every name a pod may use for a Kubernetes Service: short, namespaced and fully qualified."""
    return [service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]


def transport_security(
    *, service: str, namespace: str, extra_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = ()
) -> TransportSecuritySettings:
    """Host and Origin validation, always on and always explicit.

    The SDK's default allows loopback only (a Service name gets 421), and passing ``host="0.0.0.0"``
    silently turns the check off; so every server builds its list here: loopback, its own Service
    names, and whatever the deployment adds. Each name is accepted with and without a port.
    """
    names = [*LOOPBACK_HOSTS, *service_host_names(service, namespace), *extra_hosts]
    hosts = sorted({variant for name in names for variant in (name, f"{name}:*")})
    # Browsers send Origin; the agent core and other servers do not. Only listed origins may call.
    origins = sorted({*(f"http://{host}:*" for host in LOOPBACK_HOSTS), *allowed_origins})
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


class BearerTokenGuard:
    """Pure ASGI middleware: requests under ``protected_prefix`` need ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str, protected_prefix: str = "/mcp") -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self.protected_prefix = protected_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.protected_prefix):
            supplied = dict(scope["headers"]).get(b"authorization", b"")
            # Constant time, so the comparison leaks nothing about how much of a guess was right.
            if not hmac.compare_digest(supplied, self._expected):
                response = JSONResponse(
                    {"error": "unauthorized", "message": "this MCP endpoint requires a bearer token"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="mcp"'},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
