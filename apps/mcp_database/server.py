"""The database MCP server: read-only, bounded SQL over a SQLite database."""

from __future__ import annotations

import logging

import anyio.to_thread
from starlette.applications import Starlette

from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.mcp_database.sample_data import build_sample_database
from apps.mcp_database.sandbox import ReadOnlyDatabase
from apps.mcp_database.settings import DatabaseSettings
from apps.mcp_database.tools import build_tools

SERVICE_NAME = "database-mcp-service"
log = logging.getLogger(__name__)


def create_app(settings: DatabaseSettings) -> Starlette:
    path = settings.database_path
    if not path.exists() and settings.build_sample_database:
        path.parent.mkdir(parents=True, exist_ok=True)
        build_sample_database(path)
        log.info("built the sample database", extra={"path": str(path)})
    database = ReadOnlyDatabase(
        path,
        deadline_seconds=settings.query_timeout_seconds,
        max_rows=settings.query_max_rows,
        max_sql_length=settings.query_max_sql_length,
    )

    async def database_ready() -> None:
        await anyio.to_thread.run_sync(database.check)

    spec = McpServerSpec(
        name="database",
        service=SERVICE_NAME,
        version="1.0.0",
        instructions="Read-only SQL (SQLite dialect) over a sales database: customers, products, orders, items.",
        tools=build_tools(database),
        readiness={"database": database_ready},
    )
    return create_mcp_app(spec, settings)
