"""The catalog as the MCP kit and SDK see it: schemas, annotations, and calls through the SDK server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as SdkToolError

from apps.common.mcp_app import McpServerSpec, create_mcp_app, sdk_tools
from apps.common.settings import McpServerSettings
from apps.common.tools import RETRYABLE_META
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.tools import build_tools
from tests.support.fake_kube import FakeKube, write_kubeconfig
from tests.support.net import free_port

SCALABLE = frozenset({"k8s-admin"})


def catalog(access: ClusterAccess, max_replicas: int = 7) -> dict[str, Any]:
    tools = build_tools(access, scalable_namespaces=SCALABLE, max_replicas=max_replicas)
    return {tool.tool_name: tool for tool in tools}


def call(server: MCPServer, name: str, arguments: dict[str, Any]) -> Any:
    async def run() -> Any:
        return await server.call_tool(name, arguments)

    return anyio.run(run)


def test_annotations_tell_the_truth() -> None:
    tools = catalog(ClusterAccess.not_configured())

    assert list(tools) == ["list_pods", "get_cluster_status", "troubleshoot_pod", "scale_deployment"]
    for name in ("list_pods", "get_cluster_status", "troubleshoot_pod"):
        assert tools[name].annotations.read_only_hint is True
        assert tools[name].annotations.destructive_hint is False
    scale = tools["scale_deployment"].annotations
    assert (scale.read_only_hint, scale.destructive_hint, scale.idempotent_hint) == (False, True, True)
    assert "Allowed namespaces: k8s-admin" in tools["scale_deployment"].description
    assert "0 to 7" in tools["scale_deployment"].description


def test_input_schemas_carry_the_bounds() -> None:
    schemas = {
        tool.name: tool.parameters for tool in sdk_tools(list(catalog(ClusterAccess.not_configured(), 12).values()))
    }

    pods = schemas["list_pods"]["properties"]
    assert (pods["limit"]["minimum"], pods["limit"]["maximum"], pods["limit"]["default"]) == (1, 500, 100)
    assert pods["namespace"]["anyOf"][0]["maxLength"] == 63
    assert pods["label_selector"]["anyOf"][0]["maxLength"] == 512
    troubleshoot = schemas["troubleshoot_pod"]
    assert troubleshoot["required"] == ["namespace", "name"]
    assert troubleshoot["properties"]["name"]["maxLength"] == 253
    replicas = schemas["scale_deployment"]["properties"]["replicas"]
    assert (replicas["minimum"], replicas["maximum"]) == (0, 12)
    assert schemas["scale_deployment"]["properties"]["dry_run"]["default"] is False
    assert schemas["get_cluster_status"]["properties"] == {}


def test_every_tool_has_an_output_schema() -> None:
    for tool in sdk_tools(list(catalog(ClusterAccess.not_configured()).values())):
        assert tool.fn_metadata.output_schema is not None, tool.name


def test_calls_through_the_sdk_return_structured_results(kube: FakeKube, access: ClusterAccess) -> None:
    server = MCPServer("kubernetes", tools=sdk_tools(list(catalog(access).values())))

    listing = call(server, "list_pods", {"namespace": "k8s-admin", "limit": 2})
    scaled = call(server, "scale_deployment", {"namespace": "k8s-admin", "name": "web", "replicas": 4, "dry_run": True})

    assert listing.is_error is False
    assert [pod["name"] for pod in listing.structured_content["pods"]] == ["web-7d4b9c8f6-abcde", "web-7d4b9c8f6-fghij"]
    assert listing.structured_content["truncated"] is True
    assert scaled.structured_content == {
        "namespace": "k8s-admin",
        "name": "web",
        "old_replicas": 3,
        "new_replicas": 4,
        "dry_run": True,
        "message": scaled.structured_content["message"],
    }
    assert kube.scale_patches_dry_run == 1


def test_refusals_reach_the_sdk_as_tool_errors(kube: FakeKube, access: ClusterAccess) -> None:
    server = MCPServer("kubernetes", tools=sdk_tools(list(catalog(access).values())))

    with pytest.raises(SdkToolError, match="only in: k8s-admin"):
        call(server, "scale_deployment", {"namespace": "agentic", "name": "api", "replicas": 1})
    with pytest.raises(SdkToolError, match="less than or equal to 7"):
        call(server, "scale_deployment", {"namespace": "k8s-admin", "name": "web", "replicas": 8})
    assert kube.requests == []


def kit_call(access: ClusterAccess, name: str, arguments: dict[str, Any], scalable: frozenset[str]) -> Any:
    """One call through the kit's server, its guard included, as a client would make it."""
    tools = build_tools(access, scalable_namespaces=scalable, max_replicas=7)
    spec = McpServerSpec(name="kubernetes", service="k8s", version="test", instructions="Test.", tools=tools)
    app = create_mcp_app(spec, McpServerSettings())

    async def run() -> Any:
        async with Client(app.state.mcp_server) as client:
            return await client.call_tool(name, arguments)

    return anyio.run(run)


def test_disabled_scaling_is_an_error_not_worth_retrying(kube: FakeKube, access: ClusterAccess) -> None:
    arguments = {"namespace": "k8s-admin", "name": "web", "replicas": 4}
    result = kit_call(access, "scale_deployment", arguments, scalable=frozenset())

    assert result.is_error is True
    assert "Scaling is disabled" in result.content[0].text
    assert result.meta[RETRYABLE_META] is False
    assert kube.requests == []


def test_an_unreachable_cluster_is_an_error_worth_retrying(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{free_port()}")
    with ClusterAccess.from_kubeconfig(kubeconfig) as access:
        result = kit_call(access, "list_pods", {"namespace": "k8s-admin"}, scalable=SCALABLE)

    assert result.is_error is True
    assert "Could not connect to the Kubernetes API" in result.content[0].text
    assert result.meta[RETRYABLE_META] is True
