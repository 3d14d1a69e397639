"""``AGENTIC_MCP_SERVERS`` parsing, and how MCP tool listings map onto the catalog's ``ToolSpec``."""

from __future__ import annotations

import pytest
from mcp_types import Tool, ToolAnnotations

from apps.agent_core.gateway.catalog import tool_spec
from apps.agent_core.gateway.config import parse_mcp_servers
from apps.agent_core.gateway.gateway import McpGateway
from apps.agent_core.settings import LOCAL_MCP_SERVERS


def test_parses_the_local_default_and_tolerates_spaces_and_empty_items() -> None:
    assert parse_mcp_servers(LOCAL_MCP_SERVERS)["database"] == "http://127.0.0.1:8002/mcp"
    assert parse_mcp_servers(" a = http://a:1/mcp ,, b_2=https://b.example/mcp,") == {
        "a": "http://a:1/mcp",
        "b_2": "https://b.example/mcp",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("database", "entry 'database' must be written name=url"),
        ("database=", "entry 'database=' must be written name=url"),
        ("Data.base=http://h/mcp", "entry 'Data.base=http://h/mcp': server name 'Data.base' may use only"),
        ("a=http://h/mcp,a=http://i/mcp", "entry 'a=http://i/mcp': server 'a' is listed twice"),
        ("a=ftp://h/mcp", "entry 'a=ftp://h/mcp': 'ftp://h/mcp' must start with http:// or https://"),
        ("a=http:///mcp", "has no host"),
        ("a=http://h:99999/mcp", "is not a valid URL"),
        ("a=http://user:pw@h/mcp", "must not carry credentials"),
        ("a=http://h/mcp?x=1", "must not have a query"),
        (" , ", "no MCP server configured"),
    ],
)
def test_errors_name_the_bad_entry(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_mcp_servers(text)
    assert message in str(error.value)
    assert "pw" not in str(error.value)


def test_the_gateway_checks_what_it_is_given() -> None:
    with pytest.raises(ValueError, match="server 'db': 'db:5432' must start with http"):
        McpGateway({"db": "db:5432"})


def test_missing_hints_take_mcps_worst_case_defaults() -> None:
    spec = tool_spec("x", Tool(name="do", input_schema={"type": "object"}))
    assert (spec.read_only, spec.destructive, spec.idempotent, spec.open_world) == (False, True, False, True)
    assert spec.description == "" and spec.output_schema is None


def test_stated_hints_are_kept_and_read_only_implies_harmless() -> None:
    hints = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
    spec = tool_spec("x", Tool(name="put", description=" Store. ", input_schema={}, annotations=hints))
    assert (spec.read_only, spec.destructive, spec.idempotent, spec.open_world) == (False, False, True, False)
    assert spec.description == "Store."
    # MCP ignores destructive/idempotent on a read-only tool: it destroys nothing and repeats harmlessly.
    reader = ToolAnnotations(read_only_hint=True, destructive_hint=True)
    spec = tool_spec("x", Tool(name="get", input_schema={}, annotations=reader))
    assert (spec.read_only, spec.destructive, spec.idempotent) == (True, False, True)


def test_a_password_never_reaches_the_message() -> None:
    with pytest.raises(ValueError) as error:
        parse_mcp_servers("a=http://user:hunter2@h:99999/mcp")
    assert "hunter2" not in str(error.value)
    assert "entry 'a=http://***@h:99999/mcp'" in str(error.value)
