"""The four servers' tools as the agent core's catalog would list them, with the SDK's real schemas.

The tools are built the way each server builds them, with dependencies that are never called: only
the signatures (input schemas), return types (output schemas) and annotations are read here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from apps.agent_core.model import ToolSpec
from apps.common.mcp_app import sdk_tools
from apps.common.tools import ToolDef
from apps.mcp_aws import tools as aws_tools
from apps.mcp_aws.clients import AwsClients
from apps.mcp_custom import tools as custom_tools
from apps.mcp_custom.kv_memory import MemoryKeyValueStore
from apps.mcp_custom.weather import WeatherClient
from apps.mcp_database import tools as database_tools
from apps.mcp_database.sandbox import ReadOnlyDatabase
from apps.mcp_kubernetes import tools as kubernetes_tools
from apps.mcp_kubernetes.cluster_access import ClusterAccess

_UNUSED: Any = object()


def server_tools() -> dict[str, list[ToolDef]]:
    return {
        "aws": aws_tools.build_tools(
            cast(AwsClients, _UNUSED),
            default_model_id="anthropic.claude-3-haiku-20240307-v1:0",
            max_tokens_cap=4096,
        ),
        "database": database_tools.build_tools(ReadOnlyDatabase(Path("never-opened.db"))),
        "custom": custom_tools.build_tools(cast(WeatherClient, _UNUSED), MemoryKeyValueStore()),
        "kubernetes": kubernetes_tools.build_tools(
            ClusterAccess.not_configured(), scalable_namespaces=frozenset({"k8s-admin"}), max_replicas=10
        ),
    }


def real_catalog() -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for server, defs in server_tools().items():
        for tool, sdk_tool in zip(defs, sdk_tools(defs), strict=True):
            specs.append(
                ToolSpec(
                    server=server,
                    name=sdk_tool.name,
                    description=sdk_tool.description or "",
                    input_schema=sdk_tool.parameters,
                    output_schema=sdk_tool.output_schema,
                    read_only=tool.read_only,
                    destructive=tool.destructive,
                    idempotent=tool.idempotent,
                    open_world=tool.open_world,
                )
            )
    return specs
