"""A closed-loop HTTP/1.1 load generator on raw asyncio streams.

Why not httpx: at a few thousand requests per second a general-purpose client spends more CPU per
request than the servers under test, and on a 2-core machine that CPU is taken from them. Requests
here are prepared bytes, responses are parsed just enough (status, Content-Length or chunked,
Connection) to find their end, so the generator costs little and costs the same for every server.

Each of ``concurrency`` workers keeps one connection and sends its next request when the previous
answer has arrived (a closed loop: the figure is what the server sustains, not an offered rate).
Every run is bounded by a request count and by a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

Check = Callable[[int, bytes], bool]
"""Whether a response (status, body) counts as a success."""

_MAX_HEADER_BYTES = 64 * 1024


def post(host: str, port: int, path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    """The bytes of one POST, prepared once and sent as often as needed."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive connection; reopened when the server closes it (HTTP/1.0 servers do each time)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, data: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=_MAX_HEADER_BYTES)
        assert self._reader is not None
        self._writer.write(data)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, status = status_line.split(" ", 2)[:2]
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:
            body = await self._reader.read()  # ends at close
            await self.close()
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if not keep_alive:
            await self.close()
        return int(status), body

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: tuple[float, ...]

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return (self.requests - self.errors) / self.seconds if self.seconds > 0 else math.nan

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)

    def values(self) -> dict[str, float]:
        return {
            "rps": self.throughput,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "errors": float(self.errors),
            "requests": float(self.requests),
            "seconds": self.seconds,
            "concurrency": float(self.concurrency),
        }


def percentile(values: tuple[float, ...] | list[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def run_load(
    host: str,
    port: int,
    request: bytes,
    *,
    concurrency: int,
    requests: int,
    max_seconds: float,
    check: Check,
    warmup: int = 0,
    timeout: float = 30.0,
) -> LoadResult:
    """Send ``requests`` (after ``warmup`` unmeasured ones) over ``concurrency`` connections, until the deadline."""
    if warmup:
        await _drive(host, port, request, concurrency, warmup, max_seconds, check, timeout)
    return await _drive(host, port, request, concurrency, requests, max_seconds, check, timeout)


async def _drive(
    host: str,
    port: int,
    request: bytes,
    concurrency: int,
    requests: int,
    max_seconds: float,
    check: Check,
    timeout: float,
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    issued = 0
    started = time.perf_counter()
    deadline = started + max_seconds

    async def worker() -> None:
        nonlocal errors, issued
        connection = Connection(host, port)
        try:
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                sent = time.perf_counter()
                try:
                    status, body = await asyncio.wait_for(connection.request(request), timeout)
                    ok = check(status, body)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError):
                    ok = False
                    await connection.close()
                latencies.append((time.perf_counter() - sent) * 1000)
                errors += not ok
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(concurrency, len(latencies), errors, time.perf_counter() - started, tuple(latencies))


def mcp_headers(protocol_version: str = "2025-11-25") -> dict[str, str]:
    """What Streamable HTTP asks of a POST: both media types accepted, and the revision spoken."""
    return {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": protocol_version}


def tool_call_ok(status: int, body: bytes) -> bool:
    """A JSON-RPC result that is not a tool error (the bodies are compact JSON from every server here)."""
    return status == 200 and b'"result"' in body and b'"isError":true' not in body
