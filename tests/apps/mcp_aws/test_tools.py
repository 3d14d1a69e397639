"""The tools as MCP clients see them: names, truthful annotations, schemas with bounds, calls through the SDK."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as SdkToolError
from mcp_types import Tool as McpTool

from apps.common.mcp_app import sdk_tools
from apps.common.tools import ToolDef
from apps.mcp_aws.clients import BEDROCK_READ_TIMEOUT_SECONDS, AwsClients
from apps.mcp_aws.tools import build_tools
from tests.apps.mcp_aws.conftest import DEFAULT_MODEL_ID, MAX_TOKENS_CAP
from tests.support.fake_bedrock import FakeBedrock

READ_ONLY = {"list_s3_buckets", "invoke_bedrock_model", "list_glue_jobs", "get_glue_job_status"}


def server_for(tools: dict[str, ToolDef]) -> MCPServer:
    return MCPServer("aws", tools=sdk_tools(list(tools.values())))


def listed(tools: dict[str, ToolDef]) -> dict[str, McpTool]:
    async def list_them() -> list[McpTool]:
        return await server_for(tools).list_tools()

    return {tool.name: tool for tool in anyio.run(list_them)}


def call(tools: dict[str, ToolDef], name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    async def call_it() -> Any:
        return await server_for(tools).call_tool(name, arguments)

    result = anyio.run(call_it)
    assert result.is_error is False
    structured: dict[str, Any] = result.structured_content
    return structured


def test_the_five_tools(tools: dict[str, ToolDef]) -> None:
    assert set(tools) == READ_ONLY | {"start_glue_job"}
    for tool in tools.values():
        assert 0 < len(tool.description) <= 200


def test_annotations_tell_the_truth(tools: dict[str, ToolDef]) -> None:
    for name in READ_ONLY:
        hints = tools[name].annotations
        assert (hints.read_only_hint, hints.destructive_hint, hints.open_world_hint) == (True, False, True)
    start = tools["start_glue_job"].annotations
    assert (start.read_only_hint, start.destructive_hint, start.idempotent_hint, start.open_world_hint) == (
        False,
        True,
        False,
        True,
    )
    timeout = tools["invoke_bedrock_model"].timeout_seconds
    assert timeout is not None
    assert timeout > BEDROCK_READ_TIMEOUT_SECONDS


def test_input_schemas_carry_the_bounds(tools: dict[str, ToolDef]) -> None:
    schemas = {name: tool.input_schema for name, tool in listed(tools).items()}
    bedrock = schemas["invoke_bedrock_model"]
    assert bedrock["required"] == ["prompt"]
    props = bedrock["properties"]
    assert (props["prompt"]["minLength"], props["prompt"]["maxLength"]) == (1, 100_000)
    assert (props["max_tokens"]["minimum"], props["max_tokens"]["maximum"]) == (1, MAX_TOKENS_CAP)
    assert props["max_tokens"]["default"] == 1024
    temperature = next(option for option in props["temperature"]["anyOf"] if option.get("type") == "number")
    assert (temperature["minimum"], temperature["maximum"]) == (0, 1)
    assert DEFAULT_MODEL_ID in props["model_id"]["description"]
    buckets = schemas["list_s3_buckets"]["properties"]["max_buckets"]
    assert (buckets["minimum"], buckets["maximum"], buckets["default"]) == (1, 1000, 100)
    start = schemas["start_glue_job"]
    assert start["required"] == ["job_name"]
    assert start["properties"]["job_name"]["maxLength"] == 255
    arguments = next(option for option in start["properties"]["arguments"]["anyOf"] if option.get("type") == "object")
    assert arguments["maxProperties"] == 50
    workers = next(option for option in start["properties"]["worker_type"]["anyOf"] if "enum" in option)
    assert "G.1X" in workers["enum"]
    assert set(schemas["get_glue_job_status"]["required"]) == {"job_name", "run_id"}


def test_every_tool_has_an_output_schema(tools: dict[str, ToolDef]) -> None:
    outputs: dict[str, dict[str, Any]] = {}
    for name, tool in listed(tools).items():
        assert tool.output_schema is not None, name
        outputs[name] = tool.output_schema
    assert set(outputs["list_s3_buckets"]["properties"]) == {"buckets", "truncated"}
    assert set(outputs["invoke_bedrock_model"]["properties"]) >= {"text", "stop_reason", "usage", "latency_ms"}
    assert set(outputs["list_glue_jobs"]["properties"]) == {"jobs", "truncated"}
    assert set(outputs["start_glue_job"]["properties"]) == {"job_name", "job_run_id"}
    assert {"state", "started_on", "completed_on", "error_message"} <= set(outputs["get_glue_job_status"]["properties"])


def test_a_smaller_cap_lowers_the_default(clients: AwsClients) -> None:
    tools = {t.tool_name: t for t in build_tools(clients, default_model_id=DEFAULT_MODEL_ID, max_tokens_cap=256)}
    max_tokens = listed(tools)["invoke_bedrock_model"].input_schema["properties"]["max_tokens"]
    assert (max_tokens["maximum"], max_tokens["default"]) == (256, 256)


@pytest.mark.parametrize(("model_id", "cap"), [("not a model", 10), (DEFAULT_MODEL_ID, 0)])
def test_bad_configuration_fails_at_build_time(clients: AwsClients, model_id: str, cap: int) -> None:
    with pytest.raises(ValueError, match=r"default_model_id|max_tokens_cap"):
        build_tools(clients, default_model_id=model_id, max_tokens_cap=cap)


def test_a_call_through_the_sdk_returns_structured_content(
    clients: AwsClients, tools: dict[str, ToolDef], fake_bedrock: FakeBedrock
) -> None:
    name = f"awp-{uuid.uuid4().hex[:12]}"
    clients.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    listing = call(tools, "list_s3_buckets", {"prefix": name})
    assert [bucket["name"] for bucket in listing["buckets"]] == [name]
    reply = call(tools, "invoke_bedrock_model", {"prompt": "ping"})
    assert reply["text"] == "echo: ping"
    assert reply["usage"]["total_tokens"] == reply["usage"]["input_tokens"] + reply["usage"]["output_tokens"]


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("invoke_bedrock_model", {"prompt": "hi", "max_tokens": MAX_TOKENS_CAP + 1}),
        ("invoke_bedrock_model", {"prompt": ""}),
        ("invoke_bedrock_model", {"prompt": "hi", "temperature": 1.5}),
        ("invoke_bedrock_model", {"prompt": "hi", "model_id": "a/../b"}),
        ("list_s3_buckets", {"max_buckets": 1001}),
        ("start_glue_job", {"job_name": "etl", "arguments": {"no-dashes": "x"}}),
        ("start_glue_job", {"job_name": "etl", "worker_type": "G.3X", "number_of_workers": 2}),
        ("start_glue_job", {"job_name": "line\nbreak"}),
        ("get_glue_job_status", {"job_name": "etl", "run_id": "run-1"}),
    ],
)
def test_out_of_bounds_arguments_are_refused_by_the_schema(
    tools: dict[str, ToolDef], fake_bedrock: FakeBedrock, name: str, arguments: dict[str, Any]
) -> None:
    async def call_it() -> Any:
        return await server_for(tools).call_tool(name, arguments)

    # The SDK's own ToolError: its argument validation refuses these before the tool runs.
    with pytest.raises(SdkToolError, match="validation error"):
        anyio.run(call_it)
    assert fake_bedrock.calls == []
