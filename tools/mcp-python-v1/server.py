"""An MCP server on the official Python SDK 1.x (``FastMCP``), as many third-party servers are built today.

Run by the tests with ``.venv-mcp-v1/bin/python`` (the SDK 1.x cannot share the platform's virtualenv):
``server.py --port N`` keeps sessions and answers POSTs with SSE (the SDK's defaults);
``--stateless`` keeps none and answers with JSON. It listens on 127.0.0.1 only. Every ``echo`` it runs is
appended to ``--call-log`` (one line each), so a test can count how often the tool really ran.
``gradient_image`` answers a caption and a PNG drawn here, the SDK 1.x way (``Image``): 16x16 RGB, the
pixel at (x, y) is ``(16 * x, 16 * y, 128)``, so a test can check every pixel that arrives.
"""

from __future__ import annotations

import argparse
import struct
import zlib
from pathlib import Path

from mcp.server.fastmcp import FastMCP, Image
from mcp.types import ToolAnnotations

IMAGE_SIZE = 16
IMAGE_CAPTION = "A 16x16 gradient: red grows to the right, green downwards."


def gradient_png() -> bytes:
    """The PNG ``gradient_image`` sends, built with the standard library (the SDK 1.x brings no image library)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    # Each scanline: filter type 0 (none), then one RGB triple per pixel.
    rows = b"".join(
        b"\x00" + b"".join(bytes((16 * x, 16 * y, 128)) for x in range(IMAGE_SIZE)) for y in range(IMAGE_SIZE)
    )
    header = struct.pack(">IIBBBBB", IMAGE_SIZE, IMAGE_SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


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

    # Read-only, so a workflow step may call it without an approval; no structured output: content blocks only.
    @server.tool(annotations=ToolAnnotations(readOnlyHint=True), structured_output=False)
    def gradient_image() -> list[str | Image]:
        """Draw a small gradient and send it as a PNG image, with a caption."""
        return [IMAGE_CAPTION, Image(data=gradient_png(), format="png")]

    server.run(transport="streamable-http")


if __name__ == "__main__":
    main()
