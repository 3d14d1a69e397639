"""The database MCP server: read-only, bounded SQL over a SQLite database, run in sandboxed worker processes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import anyio.to_thread
from prometheus_client import Counter
from starlette.applications import Starlette

from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.mcp_database.pool import ReplaceReason, SandboxedDatabase
from apps.mcp_database.protocol import WorkerLimits
from apps.mcp_database.sample_data import build_sample_database
from apps.mcp_database.sandbox import DatabaseUnavailableError, ReadOnlyDatabase
from apps.mcp_database.settings import DatabaseSettings
from apps.mcp_database.tools import build_tools

SERVICE_NAME = "database-mcp-service"
REPLY_BUDGET_FACTOR = 4
"""A worker's result may be this many times the kit's result cap: the kit cuts it to size with a note for
the model; the worker's own cap only bounds what crosses the socket."""
log = logging.getLogger(__name__)


def create_app(settings: DatabaseSettings) -> Starlette:
    path = settings.database_path
    if not path.exists() and settings.build_sample_database:
        path.parent.mkdir(parents=True, exist_ok=True)
        build_sample_database(path)
        log.info("built the sample database", extra={"path": str(path)})
    limits = WorkerLimits(
        path=path,
        deadline_seconds=settings.query_timeout_seconds,
        max_rows=settings.query_max_rows,
        max_sql_length=settings.query_max_sql_length,
        max_reply_bytes=REPLY_BUDGET_FACTOR * settings.max_result_bytes,
        memory_bytes=settings.query_worker_memory_mb * 1024 * 1024,
    )
    replaced = Counter(
        "database_query_workers_replaced",
        "SQL worker processes killed or exited and replaced, by reason.",
        ["reason"],
        registry=None,
    )

    def count_replacement(reason: ReplaceReason) -> None:
        replaced.labels(reason).inc()

    database = SandboxedDatabase(
        limits,
        workers=settings.query_workers,
        queue_limit=settings.query_queue_limit,
        queue_seconds=settings.query_queue_seconds,
        on_replace=count_replacement,
    )
    # Readiness runs one fixed query of its own in a thread, so a pool busy with slow calls still reads
    # as ready (it is: calls queue); callers' SQL never runs in this process.
    file_check = ReadOnlyDatabase(path, deadline_seconds=settings.query_timeout_seconds)

    async def database_ready() -> None:
        await anyio.to_thread.run_sync(file_check.check)
        if not database.serving():
            raise DatabaseUnavailableError("no SQL worker process is running; replacements are starting")

    @contextlib.asynccontextmanager
    async def workers() -> AsyncIterator[None]:
        async with database:
            yield

    spec = McpServerSpec(
        name="database",
        service=SERVICE_NAME,
        version="1.0.0",
        instructions="Read-only SQL (SQLite dialect) over a sales database: customers, products, orders, items.",
        tools=build_tools(database),
        readiness={"database": database_ready},
        lifespan=workers,
    )
    app = create_mcp_app(spec, settings)
    app.state.metrics.registry.register(replaced)
    app.state.database = database
    return app
