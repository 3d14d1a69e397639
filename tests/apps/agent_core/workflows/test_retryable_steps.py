"""A step's retries honour what its tool's server says of retrying, from the server's result to the engine.

Real servers on loopback: one built on the kit (it says ``retryable`` in every error result's ``_meta``) and
one on the bare SDK, standing for a third party's (it says nothing). The gateway reads the flag; the engine
stops at the first failure its server calls not retryable and retries the others as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from apps.agent_core.gateway.gateway import McpGateway
from apps.agent_core.model import ToolCall, ToolOutcome
from apps.agent_core.workflows.document import parse_workflow
from apps.agent_core.workflows.engine import WorkflowResult, run_workflow
from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.common.settings import McpServerSettings
from apps.common.tools import ToolDef, ToolError
from tests.support.servers import serve_in_thread

CALLS: Counter[str] = Counter()
"""How often each tool ran, on either server."""


class Nothing(BaseModel):
    pass


def no_credentials() -> Nothing:
    CALLS["no_credentials"] += 1
    raise ToolError("No AWS credentials are configured for this server.")


def throttled() -> Nothing:
    CALLS["throttled"] += 1
    raise ToolError("AWS is throttling requests. Wait before trying again.", retryable=True)


def third_party_failure() -> Nothing:
    CALLS["third_party_failure"] += 1
    raise ToolError("failed")  # the kit's class, but this server is not the kit's: nothing reaches _meta


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    kit = McpServerSpec(
        name="kit",
        service="kit",
        version="1.0.0",
        instructions="Fails.",
        tools=[
            ToolDef(no_credentials, "Fails for good.", read_only=True),
            ToolDef(throttled, "Fails for now.", read_only=True),
        ],
    )
    bare: MCPServer = MCPServer("bare")
    bare.add_tool(third_party_failure, description="Fails.")
    bare_mcp = bare.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True)

    async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/health":  # what serve_in_thread waits for
            await PlainTextResponse("OK")(scope, receive, send)
            return
        await bare_mcp(scope, receive, send)

    with (
        serve_in_thread(create_mcp_app(kit, McpServerSettings())) as kit_url,
        serve_in_thread(bare_app) as bare_url,
    ):
        yield {"kit": kit_url + "/mcp", "bare": bare_url + "/mcp"}


def run_step_with_three_attempts(servers: dict[str, str], server: str, tool: str) -> tuple[WorkflowResult, int]:
    """One step calling ``server.tool`` with ``retry.attempts`` 3; the result and how often the tool ran."""
    CALLS.clear()
    document = parse_workflow(
        {
            "name": "retries",
            "steps": [{"id": "call", "tool": f"{server}.{tool}", "retry": {"attempts": 3, "backoff_seconds": 0.01}}],
        }
    )

    async def main() -> WorkflowResult:
        async with McpGateway(servers) as gateway:

            async def run_step(step_id: str, call: ToolCall, attempt: int, timeout: float | None) -> ToolOutcome:
                return await gateway.call(call, timeout=timeout)

            async def skip_step(step_id: str, reason: str) -> None:
                raise AssertionError("no step is skipped")

            return await run_workflow(document, run_step=run_step, skip_step=skip_step, analyze=None)

    result = anyio.run(main)
    return result, CALLS[tool]


def test_a_failure_its_server_calls_not_retryable_runs_once(servers: dict[str, str]) -> None:
    result, calls = run_step_with_three_attempts(servers, "kit", "no_credentials")

    assert calls == 1
    step = result.steps["call"]
    assert (step.status, step.attempts) == ("failed", 1)
    assert step.error is not None and step.error.endswith("(not retried: retrying would not help; attempt 1 of 3)")


def test_a_failure_its_server_calls_retryable_is_retried(servers: dict[str, str]) -> None:
    result, calls = run_step_with_three_attempts(servers, "kit", "throttled")

    assert calls == 3
    assert (result.steps["call"].status, result.steps["call"].attempts) == ("failed", 3)


def test_a_server_that_says_nothing_is_retried_as_before(servers: dict[str, str]) -> None:
    result, calls = run_step_with_three_attempts(servers, "bare", "third_party_failure")

    assert calls == 3
    assert (result.steps["call"].status, result.steps["call"].attempts) == ("failed", 3)
    assert "not retried" not in (result.steps["call"].error or "")


def test_the_gateway_keeps_what_the_server_said(servers: dict[str, str]) -> None:
    async def outcomes() -> list[Any]:
        async with McpGateway(servers) as gateway:
            calls = [("kit", "no_credentials"), ("kit", "throttled"), ("bare", "third_party_failure")]
            return [
                (await gateway.call(ToolCall(id=tool, server=server, tool=tool))).retryable for server, tool in calls
            ]

    assert anyio.run(outcomes) == [False, True, None]
