"""scale_deployment: the one tool that changes the cluster, so it refuses by default.

A namespace must be on the operator's allow-list and the replica count within the operator's maximum; both are
checked before any request. The change goes through the ``scale`` subresource, which needs RBAC on
``deployments/scale`` only (not on the whole Deployment), and ``dry_run`` asks the API server to validate and
admit the change without persisting it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes.client import V1Scale
from pydantic import BaseModel, Field

from apps.common.tools import ToolError
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.settings import SCALABLE_NAMESPACES_SETTING
from apps.mcp_kubernetes.validation import is_namespace, validate_namespace, validate_object_name


@dataclass(frozen=True)
class ScalePolicy:
    """What the operator allows this server to scale."""

    scalable_namespaces: frozenset[str]
    max_replicas: int

    def __post_init__(self) -> None:
        if self.max_replicas < 0:
            raise ValueError(f"max_replicas must be 0 or more, got {self.max_replicas}")
        invalid = sorted(namespace for namespace in self.scalable_namespaces if not is_namespace(namespace))
        if invalid:
            raise ValueError(f"scalable namespaces must be DNS-1123 labels; these are not: {', '.join(invalid)}")

    def check(self, namespace: str, replicas: int) -> None:
        if namespace not in self.scalable_namespaces:
            if not self.scalable_namespaces:
                raise ToolError(
                    f"Scaling is disabled on this server: {SCALABLE_NAMESPACES_SETTING} is empty, so no namespace is "
                    "allowed. Nothing was changed; the server's operator enables scaling by listing namespaces there."
                )
            allowed = ", ".join(sorted(self.scalable_namespaces))
            raise ToolError(
                f"Scaling in namespace '{namespace}' is not allowed; this server may scale deployments only in: "
                f"{allowed}. Nothing was changed."
            )
        if not 0 <= replicas <= self.max_replicas:
            raise ToolError(
                f"replicas must be between 0 and {self.max_replicas} (this server's maximum), got {replicas}. "
                "Nothing was changed."
            )


class ScaleResult(BaseModel):
    namespace: str
    name: str
    old_replicas: int
    new_replicas: int
    dry_run: bool = Field(description="True when the API server only validated the change and nothing was changed.")
    message: str


def scale_deployment(
    access: ClusterAccess, policy: ScalePolicy, namespace: str, name: str, replicas: int, *, dry_run: bool = False
) -> ScaleResult:
    validate_namespace(namespace)
    validate_object_name(name, "deployment")
    policy.check(namespace, replicas)
    apis = access.apis()
    with apis.call("get", "deployments/scale", group="apps", namespace=namespace, name=name):
        current = apis.apps.read_namespaced_deployment_scale(name, namespace, _request_timeout=apis.request_timeout)
    old_replicas = _spec_replicas(current)
    if old_replicas == replicas:
        return ScaleResult(
            namespace=namespace,
            name=name,
            old_replicas=old_replicas,
            new_replicas=replicas,
            dry_run=dry_run,
            message=f"Deployment {namespace}/{name} already asks for {replicas} replicas; nothing was changed.",
        )
    with apis.call("patch", "deployments/scale", group="apps", namespace=namespace, name=name):
        updated = apis.apps.patch_namespaced_deployment_scale(
            name,
            namespace,
            {"spec": {"replicas": replicas}},
            dry_run="All" if dry_run else None,
            _request_timeout=apis.request_timeout,
        )
    new_replicas = _spec_replicas(updated)
    if dry_run:
        message = (
            f"Dry run: the API server accepted scaling deployment {namespace}/{name} from {old_replicas} to "
            f"{new_replicas} replicas; nothing was changed."
        )
    else:
        message = f"Deployment {namespace}/{name} now asks for {new_replicas} replicas (was {old_replicas})."
    return ScaleResult(
        namespace=namespace,
        name=name,
        old_replicas=old_replicas,
        new_replicas=new_replicas,
        dry_run=dry_run,
        message=message,
    )


def _spec_replicas(scale: V1Scale) -> int:
    # An omitted spec.replicas on a Scale means zero: the API drops zero values from the JSON it sends.
    return scale.spec.replicas if scale.spec and scale.spec.replicas is not None else 0
