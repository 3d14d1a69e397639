"""The Kubernetes server's capability statuses, as an MCP client reads them from tools/list."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from apps.common.capabilities import CAPABILITIES_META, UNAVAILABLE_META
from apps.common.tools import ToolError
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.scaling import ScalePolicy
from apps.mcp_kubernetes.server import create_app
from apps.mcp_kubernetes.settings import KubernetesSettings
from tests.support.fake_kube import FakeKube
from tests.support.servers import MODES, mcp_client, serve_in_thread


def listing(access: ClusterAccess, mode: str, **settings: Any) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(capabilities by name, tools' _meta by name, /ready status) of a server over ``access``."""

    async def scenario(url: str) -> Any:
        async with mcp_client(url + "/mcp", mode) as client:
            return await client.list_tools()

    with access, serve_in_thread(create_app(KubernetesSettings(**settings), access=access)) as url:
        result = anyio.run(scenario, url)
        ready = httpx.get(url + "/ready", timeout=10.0).status_code
    capabilities = {entry["name"]: entry for entry in result.meta[CAPABILITIES_META]}
    return capabilities, {tool.name: tool.meta or {} for tool in result.tools}, ready


@pytest.mark.parametrize("mode", MODES)
def test_no_cluster_makes_every_tool_unavailable_naming_kubeconfig_and_stays_ready(mode: str) -> None:
    capabilities, tools, ready = listing(ClusterAccess.not_configured(), mode)

    cluster = capabilities["kubernetes cluster"]
    assert (cluster["ok"], cluster["setting"], cluster["transient"]) == (False, "KUBECONFIG", False)
    assert "not configured" in cluster["detail"]
    assert set(cluster["tools"]) == {"list_pods", "get_cluster_status", "troubleshoot_pod", "scale_deployment"}
    assert tools["list_pods"][UNAVAILABLE_META]["setting"] == "KUBECONFIG"
    assert ready == 200  # a missing kubeconfig is a status, not a reason to leave the Service


def test_empty_allow_list_makes_scaling_unavailable_naming_the_setting(kube: FakeKube) -> None:
    capabilities, tools, ready = listing(ClusterAccess.from_kubeconfig(kube.kubeconfig), "2026-07-28")

    assert capabilities["kubernetes cluster"]["ok"] is True
    scaling = capabilities["scaling"]
    assert (scaling["ok"], scaling["setting"], scaling["tools"]) == (
        False,
        "AGENTIC_SCALABLE_NAMESPACES",
        ["scale_deployment"],
    )
    assert tools["scale_deployment"][UNAVAILABLE_META] == {
        "reason": "no namespace may be scaled",
        "setting": "AGENTIC_SCALABLE_NAMESPACES",
    }
    assert UNAVAILABLE_META not in tools["list_pods"]
    assert ready == 200


def test_allowed_namespaces_make_scaling_available(kube: FakeKube) -> None:
    access = ClusterAccess.from_kubeconfig(kube.kubeconfig)
    capabilities, tools, _ = listing(access, "legacy", scalable_namespaces="k8s-admin,apps", max_replicas=5)

    assert capabilities["scaling"]["ok"] is True
    assert capabilities["scaling"]["detail"] == "allowed in apps, k8s-admin, at most 5 replicas"
    assert not any(UNAVAILABLE_META in meta for meta in tools.values())


def test_an_api_server_that_does_not_answer_is_not_ok_but_keeps_the_tools_offered(kube: FakeKube) -> None:
    kube.state.delay_seconds = 5.0  # beyond the probe's read timeout
    capabilities, tools, ready = listing(ClusterAccess.from_kubeconfig(kube.kubeconfig), "2026-07-28")

    cluster = capabilities["kubernetes cluster"]
    assert (cluster["ok"], cluster["transient"]) == (False, True)
    assert "did not answer" in cluster["detail"]
    assert UNAVAILABLE_META not in tools["list_pods"]
    assert ready == 503  # readiness keeps its own rule: traffic should go to a replica that reaches the API


def test_the_scaling_refusal_names_the_setting_to_change() -> None:
    policy = ScalePolicy(scalable_namespaces=frozenset(), max_replicas=5)

    with pytest.raises(ToolError, match="AGENTIC_SCALABLE_NAMESPACES is empty"):
        policy.check("apps", 2)
