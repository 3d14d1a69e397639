"""The benchmark's lab tools (``wait``, ``echo``) on FastMCP, run by ``make bench`` in FastMCP's own virtualenv.

The same tools, schemas and results as ``benchmarks.mcp_targets kit``, served the way our kit serves them:
stateless Streamable HTTP with JSON responses at ``/mcp``, and no log line per request (FastMCP's INFO logging
and banner would cost it more than what is measured). This file imports nothing of ours: FastMCP's pins clash
with the platform's, so it runs under ``var/bench-peers/fastmcp/bin/python``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Annotated

import uvicorn
from fastmcp import FastMCP
from pydantic import BaseModel, Field


class Waited(BaseModel):
    ms: int


class Echoed(BaseModel):
    text: str


mcp: FastMCP = FastMCP("lab", instructions="benchmark tools")


@mcp.tool(annotations={"readOnlyHint": True})
async def wait(
    ms: Annotated[int, Field(ge=0, le=5000, description="How long to wait, in milliseconds")] = 20,
) -> Waited:
    """Wait for a number of milliseconds."""
    await asyncio.sleep(ms / 1000)
    return Waited(ms=ms)


@mcp.tool(annotations={"readOnlyHint": True})
async def echo(text: Annotated[str, Field(min_length=1, max_length=200)]) -> Echoed:
    """Echo a text back."""
    return Echoed(text=text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.getLogger("fastmcp").setLevel(logging.WARNING)
    app = mcp.http_app(path="/mcp", stateless_http=True, json_response=True)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
