"""A SQL worker process: runs one request at a time through the read-only engine, under OS limits.

SQLite cannot be stopped while it compiles a statement: its progress handler only runs while a
statement executes, so a 1 KB query whose CTEs each join the previous one twice compiles for
minutes and takes gigabytes. That is why queries run here and the server kills this process at the
deadline (``pool.py``). What this process sets on itself is defence in depth, for when the server
cannot kill it (it died, or its event loop is stuck):

- ``RLIMIT_AS``: the address space, so a query fails with "out of memory" instead of taking the node's;
- SQLite's hard heap limit, a quarter of that, so SQLite itself fails first with ``SQLITE_NOMEM`` and
  Python keeps room to answer (https://sqlite.org/c3ref/hard_heap_limit64.html: "memory allocations
  will fail when the hard heap limit is reached"; it applies to every connection in the process);
- ``RLIMIT_CPU``, re-armed before each request to the CPU used so far plus the deadline plus a
  margin: SIGXCPU ends the process if nothing else does;
- ``RLIMIT_CORE`` 0, so a worker ended by a signal leaves no core file the size of its memory.

A worker whose peak memory grew by more than ``RETIRE_GROWTH_BYTES`` since it started says so in its
reply and exits: the C allocator may keep what SQLite freed, and a fresh worker costs a few milliseconds.
It also exits when the server closes its socket, so no worker outlives the server for long.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import resource
import signal
import socket
import sqlite3

from apps.mcp_database.protocol import (
    CheckReply,
    CheckRequest,
    Failed,
    QueryReply,
    QueryRequest,
    Ready,
    SchemaReply,
    SchemaRequest,
    WorkerLimits,
    decode_request,
    frame,
    read_frame,
)
from apps.mcp_database.sandbox import QueryError, ReadOnlyDatabase

__all__ = ["RETIRE_GROWTH_BYTES", "run_worker"]

RETIRE_GROWTH_BYTES = 32 * 1024 * 1024
CPU_MARGIN_SECONDS = 5.0

log = logging.getLogger(__name__)


def run_worker(channel: socket.socket, limits: WorkerLimits) -> None:
    """The process's whole life: limit itself, say it is ready, answer requests until the socket closes."""
    # Ctrl-C reaches the whole process group; the server decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_process(limits)
    database = ReadOnlyDatabase(
        limits.path,
        deadline_seconds=limits.deadline_seconds,
        max_rows=limits.max_rows,
        max_sql_length=limits.max_sql_length,
        max_reply_bytes=limits.max_reply_bytes,
    )
    baseline = peak_rss_bytes()
    channel.sendall(frame(Ready(pid=os.getpid())))
    with contextlib.closing(channel):
        while (body := read_frame(channel)) is not None:
            arm_cpu_limit(limits.deadline_seconds)
            reply = answer(database, body)
            reply.retire = reply.retire or peak_rss_bytes() - baseline > RETIRE_GROWTH_BYTES
            channel.sendall(frame(reply))
            if reply.retire:
                return


def limit_process(limits: WorkerLimits) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Soft and hard alike: nothing in this process may raise it again.
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    # Process-wide, so one throwaway connection sets it for all; queries cannot change it, because the
    # engine's authorizer refuses every PRAGMA but the lookup ones.
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        conn.execute(f"PRAGMA hard_heap_limit = {int(limits.sqlite_heap_bytes)}")


def arm_cpu_limit(deadline_seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + deadline_seconds + CPU_MARGIN_SECONDS)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def peak_rss_bytes() -> int:
    # One system call, unlike reading /proc; Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def answer(database: ReadOnlyDatabase, body: bytes) -> QueryReply | SchemaReply | CheckReply | Failed:
    try:
        request = decode_request(body)
        if isinstance(request, QueryRequest):
            return QueryReply(result=database.query(request.sql, request.params))
        if isinstance(request, SchemaRequest):
            return SchemaReply(result=database.schema(request.table))
        if isinstance(request, CheckRequest):
            database.check()
            return CheckReply()
        raise TypeError(f"unexpected request {type(request).__name__}")
    except QueryError as exc:
        return Failed(message=str(exc), retryable=exc.retryable)
    except MemoryError:
        # Python itself hit RLIMIT_AS (SQLite's own NOMEM is translated by the engine): start afresh.
        return Failed(message="The query needed more memory than this server allows and was stopped.", retire=True)
    except Exception as exc:  # answered, never a traceback to the model; the process is replaced to be safe
        log.exception("SQL worker failed on a request")
        return Failed(
            message=f"The query failed in its worker ({type(exc).__name__}); try again.", retire=True, retryable=True
        )
