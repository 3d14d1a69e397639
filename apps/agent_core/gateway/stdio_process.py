"""One run of a stdio MCP server: its process, and the SDK transport over the process's pipes.

The wire format is the SDK's (``mcp.client.stdio``): one JSON-RPC message per line on stdin and stdout,
in UTF-8. What the SDK's ``stdio_client`` cannot give is the process itself: its exit status (which a
failed call must name) and its stderr line by line (which goes into our log under the server's name;
the SDK only copies it to a file). So the process is started here and the transport is written over
its pipes, the way the SDK's is.

The child gets an environment of its own, never the agent core's (which holds its secrets): the
SDK's basics (``get_default_environment``: ``HOME``, ``LOGNAME``, ``PATH``, ``SHELL``, ``TERM``,
``USER``, when set) plus exactly what the server's entry names. It runs in a session (and process
group) of its own, so stopping it reaches whatever it started (``npx`` and ``uvx`` start the real
server as a grandchild), and a Ctrl-C in the agent core's terminal does not hit it before the agent
core stops it in order. Stopping follows the MCP lifecycle: close stdin, wait, SIGTERM the group,
wait, SIGKILL (https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#shutdown).
POSIX only: the agent core runs on Linux and macOS.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import mcp_types as types
from anyio.abc import ByteReceiveStream, Process
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.client._transport import TransportStreams
from mcp.client.stdio import get_default_environment
from mcp.os.posix.utilities import terminate_posix_process_tree
from mcp.shared.message import SessionMessage

log = logging.getLogger("apps.agent_core.gateway.stdio")

MAX_MESSAGE_BYTES = 32 * 1024 * 1024
"""The longest stdout line (one JSON-RPC message) read from a child; a longer one ends its session."""
_STDIN_CLOSE_GRACE_SECONDS = 1.0
"""How long a child has to exit by itself once its stdin is closed, before SIGTERM."""
_EXIT_WAIT_SECONDS = 5.0
"""How long a closed stdout may precede the process's exit before it is called still running."""
_EXIT_POLL_SECONDS = 0.01
_STDERR_LINE_CHARS = 4000
_BAD_LINE_CHARS = 200


@dataclass(frozen=True)
class StdioCommand:
    """What starts a stdio server: an entry of the servers file, or the bridge's flags."""

    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    """Only these variables (and the basics) reach the child: never the agent core's own environment."""
    cwd: Path | None = None

    def display(self) -> str:
        """The command line, for health reports and logs: no environment values, which may be secrets."""
        return "stdio: " + shlex.join([self.command, *self.args])

    def child_environment(self) -> dict[str, str]:
        return get_default_environment() | dict(self.env)


class ChildProcess:
    """One process of a stdio server and the transport over its pipes; a restart is a new ``ChildProcess``.

    ``transport()`` is what the SDK ``Client`` enters: it starts the process, and on exit stops it (every
    wait bounded, under a shield, so a cancelled caller cannot leave it running).
    """

    def __init__(
        self, server: str, command: StdioCommand, *, stop_grace_seconds: float, max_message_bytes: int
    ) -> None:
        self._server = server
        self._command = command
        self._stop_grace = stop_grace_seconds
        self._max_message_bytes = max_message_bytes
        self._process: Process | None = None
        self._stopping = False
        self._stopped = False
        self._signalled = False
        self._exit_logged = False
        self._output_closed = False
        self.problem: str | None = None
        """Why the session was ended from this side while the process ran (a message too long), if it was."""
        self.exited_at: float | None = None
        """When it was found exited or cut off (``time.monotonic``), for the restart backoff."""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        """Its exit status once it has exited: negative for a signal (``-9`` for SIGKILL)."""
        return self._process.returncode if self._process is not None else None

    @property
    def exited_itself(self) -> bool:
        """It exited before this side sent it a signal: its status is its own (or a kill from outside)."""
        return self.returncode is not None and not self._signalled

    @property
    def running(self) -> bool:
        """Started, and its stdout still open: requests sent now can be answered."""
        return self._process is not None and not self._output_closed and self.returncode is None

    def ending(self) -> str:
        """How this run ended, for messages: ``status 3``, or what cut it off."""
        if self.problem is not None:
            return f"a message of more than {self._max_message_bytes} bytes on stdout"
        if self.exited_itself:
            return f"status {self.returncode}"
        if self._process is None:
            return "no process"
        return "its stdout closed" if self._output_closed else "a stop"

    async def exit_status(self, timeout: float) -> int | None:
        """The exit status, waiting up to ``timeout`` for the process to be reaped; ``None`` if it still runs.

        Polled rather than ``Process.wait()``, which on asyncio also waits for the pipes to close: a
        grandchild holding them would make an exited server look hung.
        """
        with anyio.move_on_after(timeout):
            while self._process is not None and self._process.returncode is None:
                await anyio.sleep(_EXIT_POLL_SECONDS)
        return self.returncode

    def kill(self) -> None:
        """SIGKILL the whole group now unless it was stopped: the backstop after a stop that was cut short."""
        if self._process is None or self._stopped:
            return
        self._signalled = self._signalled or self.returncode is None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)

    @contextlib.asynccontextmanager
    async def transport(self) -> AsyncIterator[TransportStreams]:
        """Start the process; yield the SDK's streams over its pipes; stop it. Raises ``OSError`` if it cannot start."""
        command = self._command
        process = await anyio.open_process(
            [command.command, *command.args],
            env=command.child_environment(),
            cwd=command.cwd,
            start_new_session=True,
        )
        self._process = process
        log.info(
            "started stdio server %s (pid %d): %s",
            self._server,
            process.pid,
            command.display(),
            extra={"server": self._server, "pid": process.pid},
        )
        # No awaits before the task group is entered: a cancellation there would leave the process running.
        inbound, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        write_stream, outbound = anyio.create_memory_object_stream[SessionMessage](0)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._read_stdout, process, inbound)
            tasks.start_soon(self._write_stdin, process, outbound, inbound)
            tasks.start_soon(self._log_stderr, process)
            try:
                yield read_stream, write_stream
            finally:
                self._stopping = True
                with anyio.CancelScope(shield=True):
                    await self._stop(process)
                    for stream in (read_stream, write_stream, inbound, outbound):
                        stream.close()
                # A survivor of the kill may hold a pipe open; nothing more will be read from it.
                tasks.cancel_scope.cancel()

    async def _read_stdout(self, process: Process, inbound: MemoryObjectSendStream[SessionMessage | Exception]) -> None:
        assert process.stdout is not None
        try:
            async with contextlib.aclosing(_lines(process.stdout, self._max_message_bytes)) as lines:
                async for line in lines:
                    if line is None:
                        self.problem = f"wrote a message of more than {self._max_message_bytes} bytes to stdout"
                        log.error("stdio server %s %s; ending its session", self._server, self.problem)
                        return
                    if not line.strip():
                        continue
                    try:
                        message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                    except ValueError:
                        # A server that prints its own logs to stdout: the line is not ours to act on.
                        excerpt = line[:_BAD_LINE_CHARS].decode("utf-8", "replace")
                        log.warning(
                            "stdio server %s wrote a line that is not JSON-RPC to stdout: %s",
                            self._server,
                            excerpt,
                            extra={"server": self._server},
                        )
                        continue
                    await inbound.send(SessionMessage(message))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
            pass  # our own shutdown, or the session is gone: either way this run's output is over
        finally:
            # Before the stream closes: a caller woken by the close must already find this run over.
            self._output_closed = True
            inbound.close()
            if not self._stopping:
                await self._note_exit()

    async def _note_exit(self) -> None:
        """Log an exit nobody asked for as soon as it happens (even between calls), with its status."""
        status = await self.exit_status(_EXIT_WAIT_SECONDS)
        if not self._stopping:
            self._log_exit(status)

    def _log_exit(self, status: int | None) -> None:
        if self._exit_logged:
            return
        self._exit_logged = True
        self.exited_at = time.monotonic()
        extra = {"server": self._server, "pid": self.pid, "status": status}
        if self.problem is not None:
            return  # logged when it happened
        if status is None:
            log.warning("stdio server %s closed its stdout but is still running", self._server, extra=extra)
        else:
            log.warning("stdio server %s exited with status %d", self._server, status, extra=extra)

    async def _write_stdin(
        self,
        process: Process,
        outbound: MemoryObjectReceiveStream[SessionMessage],
        inbound: MemoryObjectSendStream[SessionMessage | Exception],
    ) -> None:
        assert process.stdin is not None
        try:
            async for message in outbound:
                text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                await process.stdin.send((text + "\n").encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            # It stopped reading (or exited): end the session, so requests fail now instead of at their timeout.
            self._output_closed = True
            inbound.close()

    async def _log_stderr(self, process: Process) -> None:
        assert process.stderr is not None
        extra = {"server": self._server, "pid": process.pid, "stream": "stderr"}
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
            async with contextlib.aclosing(_lines(process.stderr, _STDERR_LINE_CHARS * 4, cut=True)) as lines:
                async for line in lines:
                    text = (line or b"").decode("utf-8", "replace").rstrip("\r")
                    if text.strip():
                        log.info("[%s] %s", self._server, text[:_STDERR_LINE_CHARS], extra=extra)

    async def _stop(self, process: Process) -> None:
        """Close stdin, then SIGTERM the group, then SIGKILL: each step only if the one before did not do."""
        assert process.stdin is not None
        over = self._output_closed or process.returncode is not None  # it ended before being asked to
        with contextlib.suppress(OSError, anyio.ClosedResourceError, anyio.BrokenResourceError):
            await process.stdin.aclose()
        status = await self.exit_status(_STDIN_CLOSE_GRACE_SECONDS)
        if over:
            self._log_exit(status)
        if status is None:
            self._signalled = True
            await terminate_posix_process_tree(process, self._stop_grace)
            if await self.exit_status(self._stop_grace) is None:
                log.error("stdio server %s (pid %d) survived SIGKILL", self._server, process.pid)
        else:
            # It exited; whatever it started in its group must not outlive it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self._stopped = True
        with anyio.move_on_after(_STDIN_CLOSE_GRACE_SECONDS):
            await process.aclose()  # the pipes; bounded: a survivor in its group may hold them open
        _close_transport(process)
        log.info(
            "stopped stdio server %s (pid %d, status %s)",
            self._server,
            process.pid,
            self.returncode,
            extra={"server": self._server, "pid": process.pid, "status": self.returncode},
        )


def _close_transport(process: Process) -> None:
    """Close asyncio's subprocess transport, which nothing public closes: left open, it warns when collected
    (after its event loop may be gone). The same attribute walk as the SDK's ``_close_subprocess_transport``."""
    transport = getattr(getattr(process, "_process", None), "_transport", None)
    close = getattr(transport, "close", None)
    if callable(close):
        with contextlib.suppress(PermissionError):  # close() re-kills; a setuid child refuses that on <=3.12
            close()


async def _lines(stream: ByteReceiveStream, limit: int, *, cut: bool = False) -> AsyncGenerator[bytes | None]:
    """The stream's lines (without the newline). A line longer than ``limit`` bytes is yielded cut at ``limit``
    when ``cut``, else as ``None``, after which the iteration ends."""
    buffer = bytearray()
    async for chunk in stream:
        scan_from = len(buffer)
        buffer.extend(chunk)
        start = 0
        while (end := buffer.find(b"\n", scan_from)) >= 0:
            if end - start > limit and not cut:
                yield None
                return
            yield bytes(buffer[start : min(end, start + limit)])
            start = scan_from = end + 1
        del buffer[:start]
        if len(buffer) > limit:  # no newline yet, and already too long
            if not cut:
                yield None
                return
            yield bytes(buffer[:limit])
            buffer.clear()
    if buffer:
        yield bytes(buffer[:limit])
