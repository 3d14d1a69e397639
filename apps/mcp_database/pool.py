"""Read-only SQL in sandboxed processes: a small pool of workers, each killed at its call's deadline.

Why processes: SQLite compiles a statement before its progress handler ever runs, and compiling can
be made to take minutes and gigabytes from a 1 KB query (CTEs that each join the previous one
twice double the work per level). A thread cannot be stopped; a process can. So every call to
SQLite runs in a worker process (``worker.py``), under its own memory and CPU limits, and:

- the server waits for the reply without blocking its event loop, for at most the query deadline
  plus ``KILL_GRACE_SECONDS`` (the engine's own deadline fires first whenever SQLite is executing,
  and answers with the same message);
- past that, the worker is SIGKILLed, the call answers "timed out", and a replacement is started
  in the background, off the request path;
- a worker that exits, breaks its protocol, or grows too large (it retires itself) is replaced too;
- calls wait for a free worker in a bounded queue: at most ``queue_limit`` waiting, each for at most
  ``queue_seconds``; past either bound the call is refused at once with a message saying so, marked
  retryable (the same call may find a worker free later).

Use it as an async context manager inside the server's lifespan: entering starts every worker and
waits until each is ready; leaving kills them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Literal, Self

import anyio
from anyio.abc import TaskGroup

from apps.common.tools import ToolError
from apps.mcp_database.models import QueryResult, SchemaResult
from apps.mcp_database.protocol import (
    CheckReply,
    CheckRequest,
    Failed,
    Param,
    QueryReply,
    QueryRequest,
    Reply,
    Request,
    SchemaReply,
    SchemaRequest,
    WorkerLimits,
    frame,
)
from apps.mcp_database.worker_process import WorkerExitedError, WorkerFailedError, WorkerProcess, forkserver_context

__all__ = ["KILL_GRACE_SECONDS", "ReplaceReason", "SandboxedDatabase"]

KILL_GRACE_SECONDS = 0.25
"""After the deadline, how long the engine's own timeout gets to answer before the worker is killed."""
START_TIMEOUT_SECONDS = 30.0
_RESTART_BACKOFF_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)

ReplaceReason = Literal["deadline", "exited", "retired", "interrupted", "broken"]
"""Why a worker was replaced, as counted in the ``database_query_workers_replaced`` metric."""

log = logging.getLogger(__name__)


class SandboxedDatabase:
    """Queries, schema and checks of one SQLite file, each run in a worker process that the deadline kills."""

    def __init__(
        self,
        limits: WorkerLimits,
        *,
        workers: int = 2,
        queue_limit: int = 256,
        queue_seconds: float = 5.0,
        on_replace: Callable[[ReplaceReason], None] | None = None,
    ) -> None:
        if workers < 1 or queue_limit < 0 or queue_seconds <= 0:
            raise ValueError("workers must be at least 1, queue_limit at least 0 and queue_seconds positive")
        self.limits = limits
        self.workers = workers
        self.queue_limit = queue_limit
        self.queue_seconds = queue_seconds
        self.on_replace = on_replace
        self._context = forkserver_context()
        self._idle: asyncio.Queue[WorkerProcess] | None = None
        self._running: set[WorkerProcess] = set()
        self._waiting = 0
        self._tasks: TaskGroup | None = None
        self._exit_stack: contextlib.AsyncExitStack | None = None

    @property
    def max_rows(self) -> int:
        return self.limits.max_rows

    @property
    def deadline_seconds(self) -> float:
        return self.limits.deadline_seconds

    async def __aenter__(self) -> Self:
        self._idle = asyncio.Queue()
        async with contextlib.AsyncExitStack() as stack:
            self._tasks = await stack.enter_async_context(anyio.create_task_group())
            stack.push_async_callback(self._stop_workers)
            async with anyio.create_task_group() as starting:
                for _ in range(self.workers):
                    starting.start_soon(self._add_worker)
            self._exit_stack = stack.pop_all()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._tasks is not None and self._exit_stack is not None, "not started"
        self._tasks.cancel_scope.cancel()  # replacements still starting
        await self._exit_stack.aclose()

    async def query(self, sql: str, params: Sequence[Param] | Mapping[str, Param] | None = None) -> QueryResult:
        """Run one read-only statement in a worker; see ``ReadOnlyDatabase.query`` for what it allows."""
        request_params = list(params) if isinstance(params, Sequence) else dict(params) if params else None
        reply = await self._call(QueryRequest(sql, request_params))
        assert isinstance(reply, QueryReply)
        return reply.result

    async def schema(self, table: str | None = None) -> SchemaResult:
        reply = await self._call(SchemaRequest(table))
        assert isinstance(reply, SchemaReply)
        return reply.result

    async def check(self) -> None:
        reply = await self._call(CheckRequest())
        assert isinstance(reply, CheckReply)

    def serving(self) -> bool:
        """At least one worker is up (idle or busy); replacements for the others may still be starting."""
        return any(worker.alive() for worker in self._running)

    def worker_pids(self) -> list[int]:
        return sorted(worker.pid for worker in self._running)

    @property
    def idle_workers(self) -> int:
        return self._idle.qsize() if self._idle is not None else 0

    @property
    def waiting_calls(self) -> int:
        return self._waiting

    async def _call(self, request: Request) -> Reply:
        worker = await self._checkout()
        # Until a reply arrives, the worker is mid-request: anything that leaves early (the client went
        # away, the tool's own timeout) must not hand it to the next call, whose reply it might get.
        replace: ReplaceReason | None = "interrupted"
        try:
            with anyio.move_on_after(self.limits.deadline_seconds + KILL_GRACE_SECONDS) as deadline:
                await worker.send(frame(request))
                reply = await worker.receive()
            replace = "deadline" if deadline.cancelled_caught else "retired" if reply.retire else None
        except WorkerFailedError as exc:
            replace = "exited" if isinstance(exc, WorkerExitedError) else "broken"
            log.warning("SQL worker failed", extra={"pid": worker.pid, "error": str(exc)})
            # Not retryable (the default), like the deadline below: the query's own work stopped the worker,
            # and the same query over the same rows does the same work again.
            raise ToolError(
                "The query stopped its worker process (it ran out of memory or time) and was abandoned; "
                "simplify it and try again."
            ) from None
        finally:
            if replace is None:
                self._checkin(worker)
            else:
                self._replace(worker, replace)
        if replace == "deadline":
            log.warning("SQL worker killed at the deadline", extra={"pid": worker.pid})
            raise ToolError(
                f"The query timed out after {self.limits.deadline_seconds:.1f} s and was stopped; add a WHERE "
                "clause or LIMIT, or aggregate over fewer rows."
            )
        if isinstance(reply, Failed):
            raise ToolError(reply.message, retryable=reply.retryable)
        expected = {QueryRequest: QueryReply, SchemaRequest: SchemaReply, CheckRequest: CheckReply}[type(request)]
        if not isinstance(reply, expected):
            raise ToolError("The query's worker answered out of turn; try again.", retryable=True)
        return reply

    async def _checkout(self) -> WorkerProcess:
        assert self._idle is not None, "use the database inside 'async with'"
        if self._idle.empty() and self._waiting >= self.queue_limit:
            raise ToolError(self._busy(f"{self._waiting} calls are already waiting"), retryable=True)
        self._waiting += 1
        try:
            with anyio.move_on_after(self.queue_seconds):
                while True:
                    worker = await self._idle.get()
                    if worker.idle_and_connected():
                        return worker
                    self._replace(worker, "exited")  # died while idle (killed from outside): take the next
        finally:
            self._waiting -= 1
        raise ToolError(self._busy(f"none came free within {self.queue_seconds:g} s"), retryable=True)

    def _busy(self, detail: str) -> str:
        return (
            f"The database is busy: all {self.workers} query workers are in use and {detail}. "
            "Try again in a few seconds, or with a cheaper query."
        )

    def _checkin(self, worker: WorkerProcess) -> None:
        assert self._idle is not None
        self._idle.put_nowait(worker)

    def _replace(self, worker: WorkerProcess, reason: ReplaceReason) -> None:
        """Kill ``worker`` now; start its replacement in the background."""
        worker.kill()
        self._running.discard(worker)
        if self.on_replace is not None:
            self.on_replace(reason)
        assert self._tasks is not None
        self._tasks.start_soon(self._reap_and_replace, worker)

    async def _reap_and_replace(self, worker: WorkerProcess) -> None:
        try:
            await worker.reap()
        except WorkerFailedError:
            log.exception("SQL worker could not be reaped")
        for attempt in itertools.count():
            try:
                await self._add_worker()
                return
            except Exception:
                delay = _RESTART_BACKOFF_SECONDS[min(attempt, len(_RESTART_BACKOFF_SECONDS) - 1)]
                log.exception("could not start a SQL worker; retrying", extra={"retry_seconds": delay})
                await anyio.sleep(delay)

    async def _add_worker(self) -> None:
        worker = await WorkerProcess.start(self._context, self.limits, START_TIMEOUT_SECONDS)
        self._running.add(worker)
        self._checkin(worker)

    async def _stop_workers(self) -> None:
        workers = list(self._running)
        self._running.clear()
        for worker in workers:
            worker.kill()
        with anyio.CancelScope(shield=True):
            for worker in workers:
                with contextlib.suppress(WorkerFailedError):
                    await worker.reap()
