"""The tools as the MCP SDK sees them: schemas, annotations and calls through ``MCPServer``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult

from apps.common.tools import ToolDef
from apps.mcp_custom.kv_memory import MemoryKeyValueStore
from apps.mcp_custom.tools import build_tools
from apps.mcp_custom.weather import WeatherClient
from tests.support.fake_wttr import FakeWttr

pytestmark = pytest.mark.anyio


@pytest.fixture
async def tools(wttr: FakeWttr) -> AsyncIterator[list[ToolDef]]:
    weather = WeatherClient(wttr.base_url, retry_backoff_seconds=0.01)
    yield build_tools(weather, MemoryKeyValueStore())
    await weather.aclose()


@pytest.fixture
def server(tools: list[ToolDef]) -> MCPServer:
    server = MCPServer("custom-test")
    for tool in tools:
        server.add_tool(tool.fn, name=tool.tool_name, description=tool.description, annotations=tool.annotations)
    return server


async def call(server: MCPServer, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool and return its structured content, which every tool here must produce."""
    result = await server.call_tool(name, arguments)
    assert isinstance(result, CallToolResult)
    assert not result.is_error
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


async def schemas(server: MCPServer) -> dict[str, Any]:
    return {tool.name: tool for tool in await server.list_tools()}


async def test_catalogue_and_annotations(server: MCPServer) -> None:
    listed = await schemas(server)
    assert sorted(listed) == ["get_data", "get_weather", "list_keys", "replace_data", "store_data"]
    hints = {
        name: (t.annotations.read_only_hint, t.annotations.destructive_hint, t.annotations.idempotent_hint,
               t.annotations.open_world_hint)
        for name, t in listed.items()
    }  # fmt: skip
    assert hints == {
        "get_weather": (True, False, True, True),
        # Creating cannot change what is stored: no approval. Overwriting can: the agent core asks first.
        "store_data": (False, False, False, False),
        "replace_data": (False, True, True, False),
        "get_data": (True, False, True, False),
        "list_keys": (True, False, True, False),
    }
    assert all(t.description for t in listed.values())


async def test_input_schemas_carry_bounds(server: MCPServer) -> None:
    listed = await schemas(server)
    location = listed["get_weather"].input_schema["properties"]["location"]
    assert (location["minLength"], location["maxLength"]) == (1, 100)
    store = listed["store_data"].input_schema
    assert store["required"] == ["key", "value"]
    assert store["properties"]["key"]["pattern"] == r"^[A-Za-z0-9][A-Za-z0-9_:@-]*(?:[./][A-Za-z0-9_:@-]+)*$"
    assert store["properties"]["key"]["maxLength"] == 256
    assert listed["replace_data"].input_schema["properties"] == store["properties"]
    assert "type" not in store["properties"]["value"]  # any JSON value
    ttl = store["properties"]["ttl_seconds"]["anyOf"][0]
    assert (ttl["minimum"], ttl["maximum"]) == (1, 2_592_000)
    limit = listed["list_keys"].input_schema["properties"]["limit"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 1000, 100)


async def test_output_schemas(server: MCPServer) -> None:
    listed = await schemas(server)
    weather = listed["get_weather"].output_schema
    assert set(weather["properties"]) == {"location", "current", "days", "source"}
    assert set(listed["list_keys"].output_schema["required"]) == {"keys", "truncated"}


async def test_store_get_list_through_the_sdk(server: MCPServer) -> None:
    stored = await call(server, "store_data", {"key": "notes/1", "value": {"a": [1, "b"]}, "ttl_seconds": 60})
    assert stored["key"] == "notes/1"
    assert stored["expires_at"].endswith("Z")

    got = await call(server, "get_data", {"key": "notes/1"})
    assert (got["found"], got["value"]) == (True, {"a": [1, "b"]})

    await call(server, "store_data", {"key": "notes/2", "value": None})
    listed = await call(server, "list_keys", {"prefix": "notes/", "limit": 1})
    assert listed == {"keys": ["notes/1"], "truncated": True}

    missing = await call(server, "get_data", {"key": "notes/9"})
    assert (missing["found"], missing["value"]) == (False, None)


async def test_store_data_only_creates_and_replace_data_overwrites(server: MCPServer) -> None:
    await call(server, "store_data", {"key": "shared/plan", "value": "original"})
    with pytest.raises(ToolError, match=r"'shared/plan' already holds a value.*use replace_data to overwrite it"):
        await server.call_tool("store_data", {"key": "shared/plan", "value": "overwritten"})
    assert (await call(server, "get_data", {"key": "shared/plan"}))["value"] == "original"

    replaced = await call(server, "replace_data", {"key": "shared/plan", "value": {"v": 2}, "ttl_seconds": 5})
    assert replaced["key"] == "shared/plan" and replaced["expires_at"]
    assert (await call(server, "get_data", {"key": "shared/plan"}))["value"] == {"v": 2}
    await call(server, "replace_data", {"key": "shared/new", "value": 1})  # replacing nothing stores it
    assert (await call(server, "get_data", {"key": "shared/new"}))["found"] is True


@pytest.mark.parametrize("key", ["../etc/passwd", "a/../b", "a//b", "/a", "a/", ".hidden", "a.", "tab\tkey"])
async def test_path_like_keys_are_refused_by_the_schema(server: MCPServer, key: str) -> None:
    for tool in ("store_data", "replace_data"):
        with pytest.raises(ToolError, match="key"):
            await server.call_tool(tool, {"key": key, "value": 1})


async def test_schema_bounds_are_enforced(server: MCPServer) -> None:
    with pytest.raises(ToolError):
        await server.call_tool("store_data", {"key": "bad key", "value": 1})
    with pytest.raises(ToolError):
        await server.call_tool("list_keys", {"limit": 5000})


async def test_store_refusals_reach_the_model(server: MCPServer) -> None:
    with pytest.raises(ToolError, match="64 KiB"):
        await server.call_tool("store_data", {"key": "k", "value": "x" * 70_000})


async def test_get_weather_through_the_sdk(server: MCPServer, wttr: FakeWttr) -> None:
    result = await call(server, "get_weather", {"location": "London"})
    assert result["location"]["area"] == "London"
    assert result["days"][0]["max_c"] == 13
    with pytest.raises(ToolError, match="not found"):
        await server.call_tool("get_weather", {"location": "Atlantis"})
    with pytest.raises(ToolError, match="unsupported character"):
        await server.call_tool("get_weather", {"location": "http://169.254.169.254/"})
    assert [r.raw_path for r in wttr.requests] == ["/London", "/Atlantis"]
