"""Running ASGI apps for real on 127.0.0.1 in a background thread, and talking MCP to them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

import httpx2
import uvicorn
from mcp import Client
from starlette.types import ASGIApp

from tests.support.net import free_port, wait_until_up

MODES = ("legacy", "2026-07-28")
"""The two MCP revisions every server must serve: the 2025-11-25 handshake, and 2026-07-28."""


@contextlib.contextmanager
def serve_in_thread(app: ASGIApp, *, ready_path: str = "/health", port: int | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a loopback port (a free one unless given); yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url + ready_path)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.asynccontextmanager
async def mcp_client(url: str, mode: str, *, token: str | None = None) -> AsyncIterator[Client]:
    """The official SDK client on the given revision (``legacy`` is the 2025-11-25 handshake)."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    if headers is None:
        async with Client(url, mode=mode) as client:  # type: ignore[arg-type]
            yield client
        return
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
    ):
        yield client
