"""The server's handle on one SQL worker process: start it, exchange one frame, kill it.

Workers come from multiprocessing's ``forkserver``: a clean process, started once with the worker
module preloaded, forks each worker. The server itself is never forked (it runs threads and an event
loop, which ``fork`` copies in whatever state they are in), and a new worker costs a fork rather than
a fresh interpreter: measured here, about 0.4 s to start a pool of two the first time (the fork server
starts and imports the worker's modules) and about 6 ms for each worker after that
(``benchmarks/sql_sandbox.py`` reports both). Its parent's ``__main__`` must be safe to import, as
multiprocessing requires (``python -m apps.mcp_database`` is: a ``__main__`` module is never re-run).

The socket is used from the event loop without blocking it (``loop.sock_*``), so this module is for
asyncio, which is what uvicorn runs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import select
import socket
import time
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess

import anyio
import anyio.to_thread

from apps.mcp_database.protocol import HEADER, MAX_REPLY_BYTES, Ready, Reply, WorkerLimits, decode_reply
from apps.mcp_database.worker import run_worker

__all__ = ["WorkerExitedError", "WorkerFailedError", "WorkerProcess", "forkserver_context"]

_RECEIVE_CHUNK = 256 * 1024
_REAP_SECONDS = 5.0


class WorkerFailedError(Exception):
    """The worker sent something that is not a reply, or could not be started."""


class WorkerExitedError(WorkerFailedError):
    """The worker's socket closed: it exited, was killed, or crashed (SIGXCPU, a fault)."""


def forkserver_context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    # Imported once in the fork server, so each worker starts with it loaded. Only takes effect before
    # the fork server starts; it is the same list every time here.
    context.set_forkserver_preload(["apps.mcp_database.worker"])
    return context


class WorkerProcess:
    """One running worker and the server's end of its socket."""

    def __init__(self, process: BaseProcess, channel: socket.socket) -> None:
        self.process = process
        self.channel = channel
        self.pid = process.pid or 0
        self._pending = bytearray()
        self._killed = False

    @classmethod
    async def start(cls, context: ForkServerContext, limits: WorkerLimits, timeout: float) -> WorkerProcess:
        """A new worker, once it has limited itself and said it is ready."""
        ours, theirs = socket.socketpair()
        process = context.Process(target=run_worker, args=(theirs, limits), name="sql-worker", daemon=True)
        try:
            # start() talks to the fork server (and starts it the first time): off the event loop.
            await anyio.to_thread.run_sync(process.start)
        except BaseException:  # also a cancellation that arrived while the thread was starting it
            if process.pid is not None:
                process.kill()
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        worker = cls(process, ours)
        try:
            with anyio.fail_after(timeout):
                hello = await worker.receive()
            if not isinstance(hello, Ready):
                raise WorkerFailedError(f"a new worker sent {hello.kind!r} before 'ready'")
        except BaseException:
            worker.kill()
            raise
        return worker

    def alive(self) -> bool:
        return self.process.is_alive()

    def idle_and_connected(self) -> bool:
        """For a worker between calls: nothing to read on its socket, so no EOF (it died) and no stray bytes.

        A zero-timeout select: a few microseconds, against ~15 for ``is_alive`` (which builds a selector).
        """
        readable, _, _ = select.select([self.channel], [], [], 0)
        return not readable and not self._pending

    async def send(self, data: bytes) -> None:
        try:
            await asyncio.get_running_loop().sock_sendall(self.channel, data)
        except OSError as exc:
            raise WorkerFailedError(f"cannot write to worker {self.pid}: {exc.strerror}") from exc

    async def receive(self) -> Reply:
        length = HEADER.unpack(await self._read(HEADER.size))[0]
        if length > MAX_REPLY_BYTES:
            raise WorkerFailedError(f"worker {self.pid} announced a {length:,}-byte reply")
        body = await self._read(length)
        try:
            return decode_reply(body)
        except ValueError as exc:  # pydantic's ValidationError and json's JSONDecodeError are both ValueErrors
            raise WorkerFailedError(f"worker {self.pid} sent a malformed reply") from exc

    async def _read(self, size: int) -> bytes:
        loop = asyncio.get_running_loop()
        while len(self._pending) < size:
            try:
                chunk = await loop.sock_recv(self.channel, max(_RECEIVE_CHUNK, size - len(self._pending)))
            except OSError as exc:
                raise WorkerFailedError(f"cannot read from worker {self.pid}: {exc.strerror}") from exc
            if not chunk:
                raise WorkerExitedError(f"worker {self.pid} exited")
            self._pending += chunk
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data

    def kill(self) -> None:
        """SIGKILL: nothing SQLite is doing can delay it. Safe to call more than once."""
        if not self._killed:
            self._killed = True
            self.process.kill()  # multiprocessing skips the signal when the process has already exited
        self.channel.close()

    async def reap(self) -> None:
        """Wait (off the event loop) until the killed process is gone, so no zombie is left."""
        began = time.monotonic()
        await anyio.to_thread.run_sync(self.process.join, _REAP_SECONDS)
        if self.process.exitcode is not None:
            self.process.close()
        elif time.monotonic() - began >= _REAP_SECONDS:
            raise WorkerFailedError(f"worker {self.pid} did not exit within {_REAP_SECONDS:g} s of SIGKILL")
