"""A stdio MCP server for the tests: ``slow_write`` appends a line to ``CALL_LOG`` as soon as it is called,
then sleeps, so a test can kill the process mid-call and count how often the tool really ran.

Run as ``python stdio_counting_server.py <call log>``: the venv's interpreter finds the SDK by itself,
so the child needs nothing from the agent core's environment.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
from mcp.server import MCPServer

CALL_LOG = Path(sys.argv[1])
server = MCPServer("counting")


@server.tool(description="Record the call, then take `seconds` to answer.")
async def slow_write(label: str, seconds: float = 5.0) -> str:
    with CALL_LOG.open("a") as log:
        log.write(f"{label} {time.time()}\n")
    await anyio.sleep(seconds)
    return f"wrote {label}"


if __name__ == "__main__":
    print("counting server ready", file=sys.stderr, flush=True)
    server.run("stdio")
