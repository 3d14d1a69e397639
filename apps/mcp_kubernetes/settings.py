"""Configuration of the Kubernetes MCP server (``AGENTIC_*`` variables, plus ``KUBECONFIG``)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from apps.common.settings import CommaList, McpServerSettings, env_name, split_comma_list

SCALABLE_NAMESPACES_SETTING = env_name("scalable_namespaces")
"""Named by every refusal and status about scaling, so the operator knows what to change."""
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class KubernetesSettings(McpServerSettings):
    namespace: str = Field(default="k8s-admin", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    """The Kubernetes namespace of this server's Service, for its cluster DNS names (not one it manages)."""
    scalable_namespaces: CommaList = ()
    """Namespaces where ``scale_deployment`` may act; empty (the default) refuses scaling everywhere."""
    max_replicas: int = Field(default=10, ge=0, le=1000)
    """The most replicas ``scale_deployment`` may set."""

    _split_namespaces = field_validator("scalable_namespaces", mode="before")(split_comma_list)

    @field_validator("scalable_namespaces")
    @classmethod
    def _valid_namespaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        invalid = [name for name in value if not _NAMESPACE.fullmatch(name)]
        if invalid:
            raise ValueError(f"not Kubernetes namespace names: {', '.join(invalid)}")
        return value
