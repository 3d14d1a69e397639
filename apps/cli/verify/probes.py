"""Which tool ``verify`` calls on each MCP server, and which failures mean "no credentials" rather than "broken".

A probe is a read-only tool that needs no arguments, so calling it changes nothing and needs no approval.
The platform's own servers have a chosen probe; any other server gets its first such tool by name.

A probe that fails because its server has no AWS credentials or no cluster access is a warning, not a
failure: the platform works, that server's tools cannot until an operator gives it access (``make dev``
without AWS credentials or a kubeconfig is the common case). The phrases below are the servers' own
messages for those cases (``apps/mcp_aws/errors.py``, ``apps/mcp_kubernetes/cluster_access.py`` and
``api_errors.py``); tests/apps/cli/test_verify_probes.py checks they still say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from apps.cli.verify.api_views import ToolView

PREFERRED_PROBES = {
    "database": "get_schema",
    "custom": "list_keys",
    "aws": "list_s3_buckets",
    "kubernetes": "get_cluster_status",
}


@dataclass(frozen=True)
class AccessProblem:
    """A failure that says the server lacks access, and what an operator does about it."""

    phrase: str
    remedy: str


_AWS_ACCESS = (
    "give the server AWS access: in the cluster its Pod Identity role (and that role's IAM policy); "
    "locally AWS credentials in its environment (AWS_PROFILE, AWS_ACCESS_KEY_ID…) before make dev"
)
_KUBE_ACCESS = (
    "give the server cluster access: in the cluster its service account and RBAC; locally KUBECONFIG "
    "(or ~/.kube/config) pointing at a reachable cluster before make dev"
)
ACCESS_PROBLEMS = (
    AccessProblem("No AWS credentials are configured", _AWS_ACCESS),
    AccessProblem("AWS rejected this server's credentials", _AWS_ACCESS),
    AccessProblem("Access denied: this server's IAM role", _AWS_ACCESS),
    AccessProblem("No Kubernetes cluster is configured", _KUBE_ACCESS),
    AccessProblem("The Kubernetes API rejected this server's credentials", _KUBE_ACCESS),
    AccessProblem("this server's Kubernetes identity lacks RBAC permission", _KUBE_ACCESS),
    AccessProblem("Could not connect to the Kubernetes API", _KUBE_ACCESS),
)


def access_problem(error: str | None) -> AccessProblem | None:
    """The access problem ``error`` reports, if it is one."""
    if not error:
        return None
    return next((problem for problem in ACCESS_PROBLEMS if problem.phrase in error), None)


def _callable_without_arguments(tool: ToolView) -> bool:
    return tool.read_only and not tool.required_arguments


def choose_probe(server: str, tools: Iterable[ToolView]) -> ToolView | None:
    """The tool to call on ``server``: its preferred probe when usable, else its first read-only, argument-free one.

    One its server can run now comes first; an unavailable one is returned only when no other would do, so the
    check can say why (its server's reason and setting)."""
    candidates = sorted(
        (tool for tool in tools if _callable_without_arguments(tool)), key=lambda tool: (not tool.available, tool.name)
    )
    preferred = next((tool for tool in candidates if tool.name == PREFERRED_PROBES.get(server)), None)
    if preferred is not None and (preferred.available or not any(tool.available for tool in candidates)):
        return preferred
    return candidates[0] if candidates else None
