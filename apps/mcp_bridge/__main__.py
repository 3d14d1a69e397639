"""``python -m apps.mcp_bridge [--host H] [--port P] [--name N] --command CMD [-- ARGS…]``.

Flags override the ``AGENTIC_BRIDGE_*`` variables they stand for; everything after ``--`` is the stdio
server's arguments. Runs like every service (apps/common/service.py): JSON logs, uvicorn, the same drain.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from apps.common.service import DEFAULT_HOST, DEFAULT_PORT, serve
from apps.mcp_bridge.server import create_app
from apps.mcp_bridge.settings import BridgeSettings

DESCRIPTION = "stdio → Streamable HTTP MCP bridge"


def parse(argv: list[str]) -> tuple[str, int, dict[str, str]]:
    """Host, port, and the variables the flags set.

    The flags are applied as the variables they stand for, so a bad value is reported by the variable's name.
    """
    parser = argparse.ArgumentParser(prog="python -m apps.mcp_bridge", description=DESCRIPTION)
    parser.add_argument("--host", default=os.environ.get("HOST", DEFAULT_HOST), help="address to bind (env HOST)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)), help="(env PORT)")
    parser.add_argument("--name", help="the stdio server's name (AGENTIC_BRIDGE_NAME)")
    parser.add_argument("--command", help="the stdio server's executable (AGENTIC_BRIDGE_COMMAND)")
    parser.add_argument("args", nargs="*", help="its arguments, after -- (AGENTIC_BRIDGE_ARGS, a JSON list)")
    flags = parser.parse_args(argv)
    if not 0 < flags.port < 65536:
        parser.error(f"--port must be between 1 and 65535, got {flags.port}")
    overrides: dict[str, str] = {}
    if flags.name:
        overrides["AGENTIC_BRIDGE_NAME"] = flags.name
    if flags.command:
        overrides["AGENTIC_BRIDGE_COMMAND"] = flags.command
    if flags.args:
        overrides["AGENTIC_BRIDGE_ARGS"] = json.dumps(flags.args)
    return flags.host, flags.port, overrides


def main(argv: list[str]) -> None:
    host, port, overrides = parse(argv)
    os.environ.update(overrides)
    serve(DESCRIPTION, create_app, BridgeSettings, address=(host, port))


main(sys.argv[1:])
