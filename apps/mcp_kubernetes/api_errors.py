"""How Kubernetes API failures become ``ToolError`` messages that tell the model what happened and what to do.

Two families of failure reach a tool:

- ``kubernetes.client.ApiException``: the API server answered with an error status. 401 (credentials), 403 (RBAC:
  the message names the missing verb and resource), 404 (the object), 409 (a concurrent change), 400/422 (the
  request), 429 (rate limit), 5xx (the control plane). Status 0 is the client's own wrapper for TLS failures.
- ``urllib3.exceptions.HTTPError``: the server was not reached, or did not answer within the request timeout.

Each ``ToolError`` says whether the same call may succeed later (``retryable``): true for 409 (read again,
then retry), 429, 5xx and a server not reached or not answering in time; false for the rest, which a retry
meets again until someone changes the request, the credentials, RBAC or the configuration.

A response the client's models cannot read (``pydantic.ValidationError``) is reported as such. 403 raises
``PermissionDenied``, a ``ToolError`` subclass, so a tool can tell "not allowed to read this part" from "cannot
reach the cluster". Everything is raised ``from None``: the model needs the message, not a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pydantic
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from apps.common.tools import ToolError
from apps.mcp_kubernetes.text import shorten

_MAX_SERVER_MESSAGE = 300


class PermissionDenied(ToolError):
    """403: RBAC does not allow the request. A tool that can do without that piece of data may carry on."""


@dataclass(frozen=True)
class ApiCall:
    """What a request does, in RBAC terms, so a refusal can name the permission that is missing."""

    verb: str
    """The RBAC verb: get, list, patch."""
    resource: str
    """The RBAC resource, with its subresource: pods, pods/log, deployments/scale."""
    group: str = ""
    """The API group: "" for the core group, "apps" for Deployments."""
    namespace: str | None = None
    """None for cluster-scoped objects and for lists across all namespaces."""
    name: str | None = None

    @property
    def permission(self) -> str:
        group = f"API group '{self.group}'" if self.group else "the core API group"
        return f"'{self.verb}' on '{self.resource}' ({group})"

    @property
    def scope(self) -> str:
        return f"in namespace '{self.namespace}'" if self.namespace else "across the cluster"

    @property
    def target(self) -> str:
        kind = self.resource.split("/")[0].removesuffix("s")
        if self.name and self.namespace:
            return f"{kind} '{self.namespace}/{self.name}'"
        if self.name:
            return f"{kind} '{self.name}'"
        return f"{self.resource} {self.scope}"


@contextmanager
def translated_api_errors(call: ApiCall, *, host: str) -> Iterator[None]:
    """Run one API request; turn its anticipated failures into ``ToolError``."""
    try:
        yield
    except ApiException as exc:
        raise tool_error_for_status(call, exc) from None
    except urllib3.exceptions.HTTPError as exc:
        raise tool_error_for_transport(call, exc, host=host) from None
    except pydantic.ValidationError:
        raise ToolError(
            f"The Kubernetes API answered the request for {call.target} with data this server could not read; "
            "the API server may be a version this client does not support. Retrying will not help."
        ) from None


def tool_error_for_status(call: ApiCall, exc: ApiException) -> ToolError:
    status = exc.status if isinstance(exc.status, int) else 0
    said = _server_message(exc)
    said_suffix = f" The API server said: {said}" if said else ""
    if status == 401:
        return ToolError(
            "The Kubernetes API rejected this server's credentials (401 Unauthorized): the token in the kubeconfig "
            "or the service account token is missing or expired. An operator must renew it; retrying will not help."
        )
    if status == 403:
        return PermissionDenied(
            f"Forbidden (403): this server's Kubernetes identity lacks RBAC permission {call.permission} "
            f"{call.scope}. An operator must grant it in a Role or ClusterRole; retrying will not help.{said_suffix}"
        )
    if status == 404:
        return ToolError(
            f"Not found (404): {call.target} does not exist. Check the name and namespace, for example by "
            "listing pods in that namespace."
        )
    if status == 409:
        return ToolError(
            f"Conflict (409): {call.target} was changed by someone else at the same moment. "
            f"Read it again and retry once.{said_suffix}",
            retryable=True,
        )
    if status in (400, 422):
        return ToolError(
            f"The Kubernetes API rejected the request for {call.target} as invalid ({status}).{said_suffix}"
        )
    if status == 429:
        return ToolError(
            "The Kubernetes API is rate-limiting requests (429 Too Many Requests); wait before retrying.",
            retryable=True,
        )
    if status >= 500:
        return ToolError(
            f"The Kubernetes API server failed while handling the request for {call.target} ({status}). This is a "
            f"control-plane problem, not a problem with the request; retry later.{said_suffix}",
            retryable=True,
        )
    if status == 0:
        reason = str(exc.reason or "").splitlines()[0] if exc.reason else "unknown error"
        return ToolError(
            f"Could not talk to the Kubernetes API securely ({reason}). The kubeconfig's server address or "
            "certificate authority may be wrong; an operator must fix the configuration."
        )
    return ToolError(f"The Kubernetes API refused the request for {call.target} ({status}).{said_suffix}")


def tool_error_for_transport(call: ApiCall, exc: urllib3.exceptions.HTTPError, *, host: str) -> ToolError:
    cause = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    # NewConnectionError subclasses ConnectTimeoutError in urllib3, yet a refused connection is no timeout.
    if isinstance(cause, urllib3.exceptions.TimeoutError) and not isinstance(
        cause, urllib3.exceptions.NewConnectionError
    ):
        return ToolError(
            f"The Kubernetes API at {host} did not answer the request for {call.target} in time; the API server "
            "may be overloaded or unreachable. Retry later.",
            retryable=True,
        )
    return ToolError(
        f"Could not connect to the Kubernetes API at {host}; the cluster may be down, or unreachable from "
        "this server. Retry later; if it persists, an operator must check the cluster endpoint.",
        retryable=True,
    )


def _server_message(exc: ApiException) -> str:
    """The ``message`` of the Status object the API server sent back, cut to a readable length."""
    try:
        body = json.loads(exc.body) if isinstance(exc.body, str | bytes) else None
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        return ""
    return shorten(message, _MAX_SERVER_MESSAGE)
