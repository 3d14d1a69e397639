"""Real MCP servers built with our kit, and small ASGI fronts that count, fail or answer like a proxy."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

import httpx
import uvicorn
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.common.settings import McpServerSettings
from apps.common.tools import ToolDef, ToolError
from tests.support.net import free_port, wait_until_up


class Echo(BaseModel):
    text: str


class Meeting(BaseModel):
    group: str
    seen: int


def echo(text: Annotated[str, Field(min_length=1, max_length=100)]) -> Echo:
    return Echo(text=text)


async def slow(seconds: Annotated[float, Field(ge=0, le=10)]) -> Echo:
    await asyncio.sleep(seconds)
    return Echo(text="done")


def fail(reason: Annotated[str, Field(max_length=100)]) -> Echo:
    raise ToolError(f"cannot do that: {reason}")


def wipe(key: Annotated[str, Field(max_length=100)]) -> Echo:
    return Echo(text=f"wiped {key}")


_in_flight: dict[str, int] = {}
_peak: dict[str, int] = {}


async def rendezvous(group: Annotated[str, Field(max_length=50)], size: Annotated[int, Field(ge=1, le=100)]) -> Meeting:
    """Waits (at most 5 s) until ``size`` calls of ``group`` have been in flight at once: proof of concurrency."""
    # All calls run on the server's one event loop, so the plain dicts need no lock.
    _in_flight[group] = _in_flight.get(group, 0) + 1
    _peak[group] = max(_peak.get(group, 0), _in_flight[group])
    try:
        deadline = time.monotonic() + 5
        while _peak[group] < size and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        return Meeting(group=group, seen=_peak[group])
    finally:
        _in_flight[group] -= 1


def lookup(key: Annotated[str, Field(max_length=100)]) -> Echo:
    return Echo(text=f"value of {key}")


ALPHA_TOOLS = [
    ToolDef(echo, "Repeat a text.", read_only=True),
    ToolDef(slow, "Answer after a while.", read_only=True),
    ToolDef(fail, "Always fails.", read_only=True),
    ToolDef(wipe, "Delete a key.", read_only=False, destructive=True, open_world=True),
    ToolDef(rendezvous, "Meet other calls.", read_only=True),
]
BETA_TOOLS = [ToolDef(lookup, "Read a key.", read_only=False, idempotent=True)]


def mcp_app(name: str, tools: list[ToolDef], settings: McpServerSettings | None = None) -> ASGIApp:
    spec = McpServerSpec(name=name, service=f"{name}-mcp", version="1.0.0", instructions="Test server.", tools=tools)
    return create_mcp_app(spec, settings or McpServerSettings())


@dataclass(frozen=True)
class Seen:
    path: str
    mcp_method: str
    client_port: int


@dataclass
class RequestLog:
    """Counts what reaches the server. With ``fail_next`` it answers POST /mcp itself, like a proxy would."""

    app: ASGIApp
    seen: list[Seen] = field(default_factory=list)
    _failures: list[tuple[int, str]] = field(default_factory=list)

    def mcp(self, method: str | None = None) -> int:
        """How many POST /mcp requests arrived, optionally only of one JSON-RPC method."""
        return sum(1 for s in self.seen if s.path == "/mcp" and (method is None or s.mcp_method == method))

    def fail_next(self, status: int, times: int, body: str = "upstream trouble") -> None:
        self._failures.extend([(status, body)] * times)

    def clear(self) -> None:
        self.seen.clear()
        self._failures.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        self.seen.append(Seen(scope["path"], headers.get(b"mcp-method", b"").decode(), scope["client"][1]))
        if scope["path"] == "/mcp" and self._failures:
            status, body = self._failures.pop(0)
            await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": body.encode()})
            return
        await self.app(scope, receive, send)


def _bind(port: int) -> socket.socket:
    """Bind the port again after a stop; SO_REUSEADDR covers TIME_WAIT, the retries a slow release."""
    deadline = time.monotonic() + 5
    while True:
        # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets, and without it every
        # keep-alive response waits ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class RestartableServer:
    """A uvicorn server that can be stopped and started again on the same port, with a new app each time."""

    def __init__(self, make_app: Callable[[], ASGIApp]) -> None:
        self.make_app = make_app
        self.port = free_port()
        self._log: RequestLog | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> RequestLog:
        """What reached the server since it (re)started."""
        if self._log is None:
            raise RuntimeError("the server has not started")
        return self._log

    def start(self) -> None:
        sock = _bind(self.port)
        self._log = RequestLog(self.make_app())
        config = uvicorn.Config(self._log, log_config=None, access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        wait_until_up(self.url + "/health")

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the server did not stop"
        try:
            httpx.get(self.url + "/health", timeout=0.5)
        except httpx.ConnectError:
            return
        raise AssertionError(f"{self.url} still answers after stop")


class FakeClock:
    """Time that moves only when a test says so: TTLs and cool-downs without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def metric(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(lines[0].split()[-1]) if lines else 0.0
