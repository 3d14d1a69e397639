"""Every error result of a kit server says in ``_meta`` whether the same call may succeed if sent again."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import anyio
import pytest
from mcp import Client
from pydantic import AfterValidator, BaseModel, Field

from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.common.retryable import CRASH_RETRYABLE
from apps.common.settings import McpServerSettings
from apps.common.tools import RETRYABLE_META, ToolDef, ToolError


class Done(BaseModel):
    text: str


def refuse() -> Done:
    raise ToolError("the bucket does not exist")


def throttled() -> Done:
    raise ToolError("throttled; try again shortly", retryable=True)


def crash() -> Done:
    raise RuntimeError("a bug")


async def stall(seconds: Annotated[float, Field(ge=0, le=10)]) -> Done:
    await asyncio.sleep(seconds)
    return Done(text="done")


def _no_spaces(value: str) -> str:
    if " " in value:
        raise ValueError("no spaces")
    return value


def named(name: Annotated[str, Field(max_length=20), AfterValidator(_no_spaces)]) -> Done:
    """Its validator runs in the SDK, after the guard's schema check let the name through."""
    return Done(text=name)


def wide() -> dict[str, int]:
    return {f"field_{index:04d}": index for index in range(2000)}  # every key stays, so it cannot be cut to fit


SPEC = McpServerSpec(
    name="retry-demo",
    service="retry-demo",
    version="1.0.0",
    instructions="Fails in every way the kit knows.",
    tools=[
        ToolDef(refuse, "Refuses.", read_only=True),
        ToolDef(throttled, "Is throttled.", read_only=True),
        ToolDef(crash, "Crashes.", read_only=True),
        ToolDef(stall, "Sleeps.", read_only=True, timeout_seconds=0.3),
        ToolDef(named, "Echoes a name.", read_only=True),
        ToolDef(wide, "Returns too much.", read_only=True),
    ],
)


def call(tool: str, arguments: dict[str, Any]) -> Any:
    app = create_mcp_app(SPEC, McpServerSettings(max_result_bytes=8_000))

    async def scenario() -> Any:
        # In process: the server's own middleware, the kit's guard included, handles the call.
        async with Client(app.state.mcp_server) as client:
            return await client.call_tool(tool, arguments)

    return anyio.run(scenario)


@pytest.mark.parametrize(
    ("tool", "arguments", "retryable", "says"),
    [
        ("refuse", {}, False, "the bucket does not exist"),
        ("throttled", {}, True, "try again shortly"),
        ("crash", {}, CRASH_RETRYABLE, "Error executing tool crash"),
        ("stall", {"seconds": 3}, True, "stall timed out after 0.3 s"),
        ("stall", {"seconds": 99}, False, "Invalid arguments for stall"),
        ("named", {"name": "two words"}, False, "no spaces"),
        ("nowhere", {}, False, "Unknown tool 'nowhere'"),
        ("wide", {}, False, "too large to return"),
    ],
)
def test_an_error_result_says_whether_retrying_may_help(
    tool: str, arguments: dict[str, Any], retryable: bool, says: str
) -> None:
    result = call(tool, arguments)
    assert result.is_error is True
    assert says in result.content[0].text
    assert result.meta[RETRYABLE_META] is retryable


def test_a_result_that_is_not_an_error_says_nothing_of_retrying() -> None:
    result = call("named", {"name": "ada"})
    assert result.is_error is False
    assert RETRYABLE_META not in (result.meta or {})


def test_tool_error_is_not_retryable_unless_the_tool_says_so() -> None:
    assert ToolError("bad argument").retryable is False
    assert ToolError("throttled", retryable=True).retryable is True
