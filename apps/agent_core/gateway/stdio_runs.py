"""The processes of one stdio server over time: at most one running, started and restarted here.

A start runs in a task of its own, bounded by ``start_timeout`` rather than by the request that asked
for it: ``uvx`` or ``npx`` may spend seconds fetching the server, and a health probe with a two-second
timeout must not cut that short (and spend the restart budget doing so). Requests wait for the start
as long as their own deadline allows; the start goes on without them. A request that finds the process
dead starts the next one, within the bounds of ``stdio_restarts.py``; one that would have to wait past
its deadline for the backoff fails at once, saying when the next start is due.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

import anyio
from mcp import Client

from apps.agent_core.gateway.errors import McpServerError, ProtocolMismatch, ServerRejected, ServerUnavailable
from apps.agent_core.gateway.mcp_session import CLIENT_INFO, HeldClient
from apps.agent_core.gateway.negotiation import Negotiated, mismatch_detail
from apps.agent_core.gateway.stdio_process import ChildProcess, StdioCommand
from apps.agent_core.gateway.stdio_restarts import RestartPolicy, Restarts

Method = Literal["tools/list", "tools/call", "ping"]
_EXIT_STATUS_WAIT_SECONDS = 2.0
"""How long a failed request waits for the dead process to be reaped, to name its exit status."""
_CLOSE_WAIT_SECONDS = 10.0


class StdioServerExited(ServerUnavailable):
    """The process ended (or stopped answering on stdout) with a request in flight, or could not start."""

    def describe(self) -> str:
        return self.detail  # it names the server and what happened, in the words an operator needs


@dataclass
class Run:
    """One process and the SDK session over it."""

    child: ChildProcess
    held: HeldClient
    failure_reported: bool = False
    """Its end was counted against the breaker already (by the first request that found it)."""

    @property
    def alive(self) -> bool:
        return self.held.alive and self.child.running

    async def stop(self) -> None:
        self.held.mark_broken()
        try:
            await self.held.stop()
        finally:
            self.child.kill()  # in case the stop was cut short: no process outlives its run


@dataclass(frozen=True)
class RunOptions:
    restart: RestartPolicy
    restarted_by: str
    """Who must restart for a server given up on to be tried again (``the agent core``, ``the bridge``)."""
    start_timeout: float
    stop_grace: float
    max_message_bytes: int


class Runs:
    """Starts the server's processes one at a time, and hands out the live one."""

    def __init__(self, name: str, command: StdioCommand, options: RunOptions) -> None:
        self._name = name
        self._command = command
        self._options = options
        self._restarts = Restarts(options.restart)
        self._run: Run | None = None
        self._starting: asyncio.Task[Run] | None = None
        self._start_due = 0.0
        self.negotiated: Negotiated | None = None
        self.closed = False

    @property
    def given_up(self) -> str | None:
        return self._restarts.given_up

    @property
    def current(self) -> Run | None:
        run = self._run
        return run if run is not None and run.alive else None

    async def live(self, until: float) -> Run:
        """The live run, or the one being started, waiting for it until ``until`` (event-loop time)."""
        if (run := self.current) is not None:
            return run
        if self.closed:
            raise McpServerError(self._name, "the gateway is closed", attempts=0)
        task = self._starting
        if task is None or task.done():
            task = self._begin()
        if self._start_due >= until:
            last = self._restarts.last_exit
            wait = self._start_due - anyio.current_time()
            raise StdioServerExited(
                self._name,
                f"stdio server {self._name} is restarting: it ended with {last}; next start in {wait:.1f} s",
                reached=False,
                counts_against_server=False,
            )
        try:
            # Shielded: a request whose deadline passes stops waiting, the start goes on for the next one.
            return await asyncio.shield(task)
        except McpServerError as error:
            raise _own_copy(error) from None

    async def ended(self, run: Run, method: Method) -> StdioServerExited:
        """The error for a request the process's end cut off; the first one of a run counts against the breaker."""
        child = run.child
        await child.exit_status(_EXIT_STATUS_WAIT_SECONDS)
        first, run.failure_reported = not run.failure_reported, True
        if child.problem is not None:
            what = child.problem
        elif child.exited_itself:
            what = f"exited with status {child.returncode}"
        else:
            what = "closed its stdout"
        detail = f"stdio server {self._name} {what} while {method} was in flight"
        if method == "tools/call":
            detail += "; the call may or may not have been applied"
        await run.stop()  # the next request finds it over, and starts another
        return StdioServerExited(self._name, detail, reached=True, counts_against_server=first)

    async def aclose(self) -> None:
        """Stop the running process and any start under way; nothing is started afterwards."""
        self.closed = True
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            await asyncio.wait({self._starting}, timeout=_CLOSE_WAIT_SECONDS)
        run, self._run = self._run, None
        if run is not None:
            await run.stop()

    def _begin(self) -> asyncio.Task[Run]:
        """Start the next process, after the backoff; synchronous, so two requests cannot both begin one."""
        old, self._run = self._run, None
        if old is not None:
            self._restarts.ended(old.child.ending(), at=old.child.exited_at)
        wait = self._restarts.wait_seconds()
        if (given_up := self._restarts.given_up) is not None:
            raise StdioServerExited(
                self._name,
                f"stdio server {self._name} is {given_up}; "
                f"it is not started again until {self._options.restarted_by} restarts",
                reached=False,
                counts_against_server=False,
            )
        self._start_due = anyio.current_time() + wait
        task = asyncio.create_task(self._start_after(old, wait), name=f"stdio-start-{self._name}")
        # Retrieved here so a start nobody waited for does not log "exception was never retrieved".
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._starting = task
        return task

    async def _start_after(self, old: Run | None, wait: float) -> Run:
        if old is not None:
            await old.stop()
        await anyio.sleep(wait)
        timeout = self._options.start_timeout
        try:
            with anyio.fail_after(timeout):
                run = await self._start()
        except TimeoutError:
            detail = f"stdio server {self._name} did not finish the initialize handshake within {timeout:g} s"
            raise StdioServerExited(self._name, detail, reached=False) from None
        self._run = run
        return run

    async def _start(self) -> Run:
        options = self._options
        child = ChildProcess(
            self._name,
            self._command,
            stop_grace_seconds=options.stop_grace,
            max_message_bytes=options.max_message_bytes,
        )
        remembered = self.negotiated
        client = Client(
            child.transport(),
            mode=remembered.connect_mode() if remembered else "auto",
            prior_discover=remembered.discover if remembered else None,
            client_info=CLIENT_INFO,
            cache=None,  # the gateway caches the catalog itself
        )
        run = Run(child, HeldClient(client, self._name))
        self._restarts.started()
        try:
            await run.held.start()
        except Exception as exc:
            running = child.running
            await run.stop()
            raise self._start_failure(exc, child, running=running) from None
        except BaseException:
            # Cut off (its start timeout, or the client closing): nothing may be awaited here.
            run.held.mark_broken()
            child.kill()
            self._restarts.ended(f"no answer to initialize within {options.start_timeout:g} s")
            raise
        session = client.session
        self.negotiated = Negotiated(client.protocol_version, session.discover_result, session=False)
        return run

    def _start_failure(self, exc: Exception, child: ChildProcess, *, running: bool) -> McpServerError:
        """What a failed start says: it could not run, it exited, or it ran and refused the handshake."""
        if (mismatch := mismatch_detail(exc)) is not None:
            self._restarts.ended("a protocol mismatch")
            return ProtocolMismatch(self._name, mismatch)
        if child.pid is None:  # it never ran: the command is missing or not executable, or its cwd is
            how = f"an error starting it: {exc}"[:300]
            self._restarts.ended(how)
            return StdioServerExited(self._name, f"stdio server {self._name} could not start ({how})", reached=False)
        if running:
            self._restarts.ended("a refused handshake")
            return ServerRejected(self._name, f"the initialize handshake failed: {exc}"[:400])
        how = child.ending()
        self._restarts.ended(how, at=child.exited_at)
        detail = f"stdio server {self._name} ended with {how} during the initialize handshake"
        return StdioServerExited(self._name, detail, reached=False)


def _own_copy(error: McpServerError) -> McpServerError:
    """The start's error for one waiter: each raises its own, as each retry loop writes its attempt count on it."""
    clone = type(error).__new__(type(error), *error.args)
    clone.__dict__.update(error.__dict__)
    return clone
