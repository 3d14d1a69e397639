"""The database server's tools: the schema, and read-only SQL over the sample shop database.

Parameter annotations become the tools' input schemas and the return models their output schemas,
so the bounds below are what a model sees. Both tools await a worker process of the sandbox
(``pool.py``), which opens a fresh read-only connection per call; nothing touches SQLite here.

Parameters are positional only (``?`` or ``?NNN``): one array keeps the input schema small and
plain for every model provider, and ``?1`` can be repeated where a name would be reused.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from apps.common.tools import ToolDef
from apps.mcp_database.models import QueryResult, SchemaResult
from apps.mcp_database.pool import SandboxedDatabase

__all__ = ["MAX_PARAMS", "MAX_SQL_LENGTH", "TABLE_PATTERN", "build_tools"]

MAX_SQL_LENGTH = 10_000
MAX_PARAMS = 100
MAX_PARAM_TEXT = 10_000
TABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]*$"

# Annotations are resolved from this module's globals when the SDK builds the schemas, so they live here.
TableArg = Annotated[
    str | None,
    Field(
        default=None,
        description="A table or view name; omit for every table",
        max_length=128,
        pattern=TABLE_PATTERN,
    ),
]
SqlArg = Annotated[
    str,
    Field(
        description="One SQLite SELECT statement (WITH and PRAGMA table_info also work); ? or ?1 placeholders",
        min_length=1,
        max_length=MAX_SQL_LENGTH,
    ),
]
ParamValue = Annotated[str, Field(max_length=MAX_PARAM_TEXT)] | int | float | bool | None
ParamsArg = Annotated[
    list[ParamValue] | None,
    Field(description="Values bound to the placeholders, in order", max_length=MAX_PARAMS),
]


def build_tools(db: SandboxedDatabase) -> list[ToolDef]:
    async def get_schema(table: TableArg = None) -> SchemaResult:
        return await db.schema(table)

    async def execute_query(sql: SqlArg, params: ParamsArg = None) -> QueryResult:
        return await db.query(sql, params)

    return [
        ToolDef(
            get_schema,
            "Tables of the SQLite sample shop database (customers, products, orders, order_items) with columns, "
            "types, primary and foreign keys, indexes, row counts and CREATE statements.",
            read_only=True,
        ),
        ToolDef(
            execute_query,
            f"Run one read-only SQLite SELECT on the sample shop database. Returns at most {db.max_rows} rows "
            f"(truncated is true when there were more); stopped after {db.deadline_seconds:g} s. "
            "Money is in integer cents; times are ISO 8601 UTC text.",
            read_only=True,
        ),
    ]
