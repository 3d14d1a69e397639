"""What the database tools return; these models are the tools' output schemas, read by a model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["ColumnInfo", "ForeignKeyInfo", "IndexInfo", "QueryResult", "SchemaResult", "TableInfo"]


class QueryResult(BaseModel):
    columns: list[str] = Field(description="Result column names, in order")
    rows: list[list[Any]] = Field(
        description="Rows as arrays in column order; blobs appear as x'hex' (up to 64 bytes) or '<blob: N bytes>'"
    )
    row_count: int = Field(description="Number of rows returned")
    truncated: bool = Field(description="True when the query produced more rows than were returned")
    elapsed_ms: float = Field(description="Time spent running the query, in milliseconds")


class ColumnInfo(BaseModel):
    name: str
    type: str = Field(description="Declared type; empty when none was declared")
    nullable: bool
    default: str | None = Field(description="Default value as an SQL expression, or null when there is none")
    primary_key: int = Field(description="Position in the primary key, from 1; 0 when not part of it")


class ForeignKeyInfo(BaseModel):
    columns: list[str]
    references_table: str
    references_columns: list[str]
    on_update: str
    on_delete: str


class IndexInfo(BaseModel):
    name: str
    unique: bool
    columns: list[str] = Field(description="Indexed columns in order; '<expression>' for an indexed expression")
    partial: bool = Field(description="True when the index covers only rows matching a WHERE clause")


class TableInfo(BaseModel):
    name: str
    type: Literal["table", "view"]
    columns: list[ColumnInfo]
    foreign_keys: list[ForeignKeyInfo]
    indexes: list[IndexInfo]
    row_count: int | None = Field(description="Number of rows; null for views")
    sql: str | None = Field(description="The CREATE statement, including CHECK constraints")


class SchemaResult(BaseModel):
    tables: list[TableInfo]
