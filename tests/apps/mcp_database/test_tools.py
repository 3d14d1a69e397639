"""The tools as the MCP SDK sees them: schemas built from the annotations, calls, refusals.

Calls go through the process sandbox, as in the server: each test that calls starts its workers.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as SdkToolError

from apps.mcp_database.pool import SandboxedDatabase
from apps.mcp_database.tools import build_tools
from tests.apps.mcp_database.conftest import worker_limits


def sdk_server(database: SandboxedDatabase) -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("database-test")
    for tool in build_tools(database):
        server.add_tool(tool.fn, name=tool.tool_name, description=tool.description, annotations=tool.annotations)
    return server


@asynccontextmanager
async def running(sample_db: Path) -> AsyncIterator[MCPServer[Any]]:
    async with SandboxedDatabase(worker_limits(sample_db, max_rows=50), workers=1) as database:
        yield sdk_server(database)


@pytest.fixture
def server(sample_db: Path) -> MCPServer[Any]:
    """For schema checks only: nothing is called, so no worker is started."""
    return sdk_server(SandboxedDatabase(worker_limits(sample_db, max_rows=50)))


async def call(server: MCPServer[Any], name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await server.call_tool(name, arguments)
    structured = getattr(result, "structured_content", None)
    assert isinstance(structured, dict), result
    assert getattr(result, "is_error", False) is False
    return structured


def test_two_read_only_tools_that_never_block_the_event_loop(sample_db: Path) -> None:
    tools = build_tools(SandboxedDatabase(worker_limits(sample_db, max_rows=50, deadline_seconds=1.5)))
    assert [tool.tool_name for tool in tools] == ["get_schema", "execute_query"]
    assert all(tool.read_only and not tool.destructive and not tool.open_world for tool in tools)
    assert "at most 50 rows" in tools[1].description and "1.5 s" in tools[1].description
    # Coroutines: the kit awaits them on the loop instead of parking a thread that a timeout cannot stop.
    assert all(inspect.iscoroutinefunction(tool.fn) for tool in tools)


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


def test_execute_query_binds_params(sample_db: Path) -> None:
    async def scenario() -> None:
        async with running(sample_db) as server:
            result = await call(
                server,
                "execute_query",
                {
                    "sql": "SELECT count(*) AS n FROM orders WHERE status = ?1 OR status = ?2",
                    "params": ["paid", "pending"],
                },
            )
            assert result["columns"] == ["n"] and isinstance(result["rows"][0][0], int) and result["rows"][0][0] > 0
            capped = await call(server, "execute_query", {"sql": "SELECT id FROM customers"})
            assert (capped["row_count"], capped["truncated"]) == (50, True)

    asyncio.run(scenario())


def test_get_schema_with_and_without_a_table(sample_db: Path) -> None:
    async def scenario() -> None:
        async with running(sample_db) as server:
            everything = await call(server, "get_schema", {})
            names = [table["name"] for table in everything["tables"]]
            assert names == ["customers", "order_items", "orders", "products"]
            (orders,) = (await call(server, "get_schema", {"table": "orders"}))["tables"]
            assert orders["row_count"] == 2000
            assert orders["foreign_keys"][0]["references_table"] == "customers"

    asyncio.run(scenario())


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


def test_refusals_reach_the_model_as_tool_errors(sample_db: Path) -> None:
    async def scenario() -> None:
        async with running(sample_db) as server:
            with pytest.raises(SdkToolError) as error:
                await server.call_tool("execute_query", {"sql": "DELETE FROM orders"})
            assert "Refused: DELETE from orders" in str(error.value)
            with pytest.raises(SdkToolError) as error:
                await server.call_tool("get_schema", {"table": "shipments"})
            assert "Unknown table 'shipments'. Available tables and views: customers, order_items" in str(error.value)

    asyncio.run(scenario())
