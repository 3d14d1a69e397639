"""The MCP servers the platform is compared with, each run as ``python -m benchmarks.mcp_targets NAME``.

- ``kit``: a lab server built with our kit (``McpServerSpec`` + ``create_mcp_app``), serving ``wait``
  (an I/O-bound tool: it sleeps ``ms``) and ``echo``; our database server is run as itself
  (``python -m apps.mcp_database``), not from here.
- ``sdk``: the same tools, and the database server's ``execute_query`` over the same sandbox, on a bare
  ``mcp`` SDK ``MCPServer``: stateless Streamable HTTP with JSON responses, as our kit configures it,
  without the kit's argument checks, timeouts, result cap, metrics and per-call log line (and with
  the SDK's own request logging off).
- ``stdlib``: the same tools behind ``http.server``: one thread, one request at a time, each tool run
  synchronously. What a straightforward server does, and the baseline for the concurrency goal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from pydantic import BaseModel, Field
from starlette.types import ASGIApp

from apps.common.logging import configure_logging
from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.common.settings import McpServerSettings, load_settings
from apps.common.tools import ToolDef
from apps.mcp_database.models import QueryResult
from apps.mcp_database.sample_data import build_sample_database
from apps.mcp_database.sandbox import ReadOnlyDatabase
from apps.mcp_database.tools import ParamsArg, SqlArg

# The SDK resolves string annotations from this module's globals: keep them importable here.
__all__ = ["ParamsArg", "SqlArg", "main"]

PROTOCOL_VERSION = "2025-11-25"


class Waited(BaseModel):
    ms: int


class Echoed(BaseModel):
    text: str


WaitMs = Annotated[int, Field(ge=0, le=5000, description="How long to wait, in milliseconds")]
EchoText = Annotated[str, Field(min_length=1, max_length=200)]


async def wait(ms: WaitMs = 20) -> Waited:
    await asyncio.sleep(ms / 1000)
    return Waited(ms=ms)


async def echo(text: EchoText) -> Echoed:
    return Echoed(text=text)


def _database(path: Path) -> ReadOnlyDatabase:
    if not path.exists():
        build_sample_database(path)
    return ReadOnlyDatabase(path, deadline_seconds=2.0, max_rows=500, max_sql_length=10_000)


def kit_app() -> ASGIApp:
    settings = load_settings(McpServerSettings)
    configure_logging(settings.log_level)  # as every real server does: one JSON line per tool call
    tools = [
        ToolDef(wait, "Wait for a number of milliseconds.", read_only=True),
        ToolDef(echo, "Echo a text back.", read_only=True),
    ]
    spec = McpServerSpec(name="lab", service="lab", version="1", instructions="benchmark tools", tools=tools)
    return create_mcp_app(spec, settings)


def sdk_app(database_path: Path) -> ASGIApp:
    from mcp.server import MCPServer

    db = _database(database_path)

    def execute_query(sql: SqlArg, params: ParamsArg = None) -> QueryResult:
        return db.query(sql, params)

    # WARNING: left at its default (INFO), MCPServer installs a Rich log handler that writes a line per
    # request, which costs more than everything the kit adds. The baseline is the SDK at its fastest.
    server: MCPServer = MCPServer("bare", version="1", log_level="WARNING")
    for fn in (wait, echo, execute_query):
        server.add_tool(fn, structured_output=True)
    return server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True)


def serve_stdlib(host: str, port: int, database_path: Path) -> None:
    db = _database(database_path)

    def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if name == "wait":
            time.sleep(int(arguments.get("ms", 20)) / 1000)
            return {"ms": int(arguments.get("ms", 20))}
        if name == "echo":
            return {"text": str(arguments["text"])}
        if name == "execute_query":
            return db.query(arguments["sql"], arguments.get("params")).model_dump(mode="json")
        raise KeyError(name)

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so one slow client cannot hold the only thread.
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            message = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            method, params = message.get("method"), message.get("params") or {}
            if method == "initialize":
                result: dict[str, Any] = {
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "stdlib", "version": "1"},
                }
            elif method == "tools/call":
                try:
                    data = call(params["name"], params.get("arguments") or {})
                    text = json.dumps(data, separators=(",", ":"))
                    result = {"content": [{"type": "text", "text": text}], "structuredContent": data, "isError": False}
                except Exception as exc:  # a tool failure is a tool result, as in MCP
                    result = {"content": [{"type": "text", "text": str(exc)}], "isError": True}
            else:
                result = {}
            body = json.dumps({"jsonrpc": "2.0", "id": message.get("id"), "result": result}, separators=(",", ":"))
            encoded = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the other servers log nothing per request either (the kit's log line goes to stderr)

    # A deeper accept queue than the default 5: at 64 clients the figure should be the server's
    # throughput, not SYN retransmissions after a full backlog.
    HTTPServer.request_queue_size = 128
    with HTTPServer((host, port), Handler) as server:
        server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=["kit", "sdk", "stdlib"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", type=Path, default=Path("var/sample.db"))
    args = parser.parse_args()
    if args.name == "stdlib":
        serve_stdlib(args.host, args.port, args.database)
        return
    app = kit_app() if args.name == "kit" else sdk_app(args.database)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
