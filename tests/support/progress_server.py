"""An MCP server whose one tool reports progress on a schedule the test chooses.

Built on the SDK's ``MCPServer`` directly, not our kit: the kit answers every request with one JSON
body (``json_response=True``), which has no room for a notification, so its tools cannot report
progress. This server answers as an SSE stream, as the reference servers do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.support.servers import serve_in_thread


class Ticked(BaseModel):
    reports: int


def progress_app() -> ASGIApp:
    server: MCPServer = MCPServer("ticker", instructions="reports progress on request")

    @server.tool(
        description="Report progress `reports` times, one every `interval` s, stay silent `silence` s, answer.",
        annotations=ToolAnnotations(read_only_hint=True),  # so no step of it waits for an approval
    )
    async def tick(
        ctx: Context,
        reports: Annotated[int, Field(ge=0, le=10_000)],
        interval: Annotated[float, Field(ge=0, le=10)],
        silence: Annotated[float, Field(ge=0, le=60)] = 0.0,
    ) -> Ticked:
        for done in range(1, reports + 1):
            await anyio.sleep(interval)
            await ctx.report_progress(done, reports, f"tick {done}")
        await anyio.sleep(silence)
        return Ticked(reports=reports)

    mcp_app = server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=False)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/health":  # what serve_in_thread waits for
            await PlainTextResponse("OK")(scope, receive, send)
            return
        await mcp_app(scope, receive, send)

    return app


@contextmanager
def run_progress_server() -> Iterator[str]:
    """Serve it on a loopback port; yields its /mcp URL."""
    with serve_in_thread(progress_app()) as url:
        yield url + "/mcp"
