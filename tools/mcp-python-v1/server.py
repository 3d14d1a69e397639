"""An MCP server on the official Python SDK 1.x (``FastMCP``), as many third-party servers are built today.

Run by the tests with ``.venv-mcp-v1/bin/python`` (the SDK 1.x cannot share the platform's virtualenv):
``server.py --port N`` keeps sessions and answers POSTs with SSE (the SDK's defaults);
``--stateless`` keeps none and answers with JSON. It listens on 127.0.0.1 only. Every ``echo`` it runs is
appended to ``--call-log`` (one line each), so a test can count how often the tool really ran.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mcp.server.fastmcp import FastMCP


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stateless", action="store_true", help="no sessions, JSON responses")
    parser.add_argument("--call-log", type=Path, required=True)
    args = parser.parse_args()
    call_log: Path = args.call_log

    server = FastMCP(
        "python-sdk-v1",
        host="127.0.0.1",
        port=args.port,
        stateless_http=args.stateless,
        json_response=args.stateless,
    )

    @server.tool()
    def echo(text: str) -> str:
        """Repeat a text."""
        with call_log.open("a", encoding="utf-8") as log:
            log.write(text + "\n")
        return text

    server.run(transport="streamable-http")


if __name__ == "__main__":
    main()
