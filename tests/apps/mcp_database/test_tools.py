"""The tools as the MCP SDK sees them: schemas built from the annotations, calls, refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as SdkToolError

from apps.mcp_database.sandbox import ReadOnlyDatabase
from apps.mcp_database.tools import build_tools


@pytest.fixture
def server(sample_db: Path) -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("database-test")
    for tool in build_tools(ReadOnlyDatabase(sample_db, max_rows=50)):
        server.add_tool(tool.fn, name=tool.tool_name, description=tool.description, annotations=tool.annotations)
    return server


def call(server: MCPServer[Any], name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = asyncio.run(server.call_tool(name, arguments))
    structured = getattr(result, "structured_content", None)
    assert isinstance(structured, dict), result
    assert getattr(result, "is_error", False) is False
    return structured


def test_two_read_only_tools(sample_db: Path) -> None:
    tools = build_tools(ReadOnlyDatabase(sample_db, max_rows=50, deadline_seconds=1.5))
    assert [tool.tool_name for tool in tools] == ["get_schema", "execute_query"]
    assert all(tool.read_only and not tool.destructive and not tool.open_world for tool in tools)
    assert "at most 50 rows" in tools[1].description and "1.5 s" in tools[1].description


def test_input_schemas_carry_the_bounds(server: MCPServer[Any]) -> None:
    tools = {tool.name: tool for tool in asyncio.run(server.list_tools())}
    table = tools["get_schema"].input_schema["properties"]["table"]
    assert table["anyOf"][0]["maxLength"] == 128 and table["anyOf"][0]["pattern"].startswith("^")
    assert "required" not in tools["get_schema"].input_schema
    query = tools["execute_query"].input_schema
    assert query["required"] == ["sql"]
    assert (query["properties"]["sql"]["minLength"], query["properties"]["sql"]["maxLength"]) == (1, 10_000)
    params = query["properties"]["params"]["anyOf"][0]
    assert params["maxItems"] == 100
    assert {"string", "integer", "number", "boolean", "null"} == {item["type"] for item in params["items"]["anyOf"]}
    assert all(tools[name].annotations and tools[name].annotations.read_only_hint for name in tools)
    output = tools["execute_query"].output_schema or {}
    assert {"columns", "rows", "row_count", "truncated", "elapsed_ms"} <= set(output["properties"])


def test_execute_query_binds_params(server: MCPServer[Any]) -> None:
    result = call(
        server,
        "execute_query",
        {"sql": "SELECT count(*) AS n FROM orders WHERE status = ?1 OR status = ?2", "params": ["paid", "pending"]},
    )
    assert result["columns"] == ["n"] and isinstance(result["rows"][0][0], int) and result["rows"][0][0] > 0
    capped = call(server, "execute_query", {"sql": "SELECT id FROM customers"})
    assert (capped["row_count"], capped["truncated"]) == (50, True)


def test_get_schema_with_and_without_a_table(server: MCPServer[Any]) -> None:
    everything = call(server, "get_schema", {})
    assert [table["name"] for table in everything["tables"]] == ["customers", "order_items", "orders", "products"]
    (orders,) = call(server, "get_schema", {"table": "orders"})["tables"]
    assert orders["row_count"] == 2000
    assert orders["foreign_keys"][0]["references_table"] == "customers"


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("execute_query", {"sql": ""}, "at least 1 character"),
        ("execute_query", {"sql": "SELECT 1", "params": list(range(101))}, "at most 100 items"),
        ("execute_query", {"sql": "SELECT ?", "params": [{"nested": 1}]}, "validation error"),
        ("get_schema", {"table": "orders; DROP TABLE orders"}, "should match pattern"),
    ],
)
def test_arguments_outside_the_schema_are_rejected(
    server: MCPServer[Any], name: str, arguments: dict[str, Any], expected: str
) -> None:
    with pytest.raises(SdkToolError, match=expected):
        asyncio.run(server.call_tool(name, arguments))


def test_refusals_reach_the_model_as_tool_errors(server: MCPServer[Any]) -> None:
    with pytest.raises(SdkToolError) as error:
        asyncio.run(server.call_tool("execute_query", {"sql": "DELETE FROM orders"}))
    assert "Refused: DELETE from orders" in str(error.value)
    with pytest.raises(SdkToolError) as error:
        asyncio.run(server.call_tool("get_schema", {"table": "shipments"}))
    assert "Unknown table 'shipments'. Available tables and views: customers, order_items" in str(error.value)
