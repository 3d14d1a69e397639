"""A database as the planner sees it: tables, columns, foreign keys and the values a column allows.

Read from what the server's schema tool returns (``{"tables": [{"name", "columns", "foreign_keys",
"sql"}, …]}``), never from a copy of the sample database: a server with other tables is planned for
the same way. The values a text column allows come from its ``CHECK (column IN ('a', 'b'))``
constraint in the CREATE statement, so "cancelled orders" can become ``status = 'cancelled'``.

The tools are found in the live catalog too (``find_database``): a read-only tool with a required
``sql`` (or ``query``) property, and a read-only tool of the same server whose name says ``schema``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from apps.agent_core.model import ToolSpec
from apps.agent_core.reasoning.planner.text import singular

__all__ = ["Column", "DatabaseTools", "ForeignKey", "Schema", "Table", "find_database", "parse_schema"]

_SQL_PROPERTIES = ("sql", "query", "statement")
_CHECK_IN = re.compile(r"\b[\"`\[]?(\w+)[\"`\]]?\s+IN\s*\(([^()]*)\)", re.IGNORECASE)
_STRING_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_NUMERIC_TYPES = ("INT", "REAL", "FLOA", "DOUB", "NUM", "DEC")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    primary_key: bool = False
    allowed: tuple[str, ...] = ()
    """Text values a CHECK constraint allows, in the order it lists them."""

    @property
    def numeric(self) -> bool:
        return any(marker in self.type.upper() for marker in _NUMERIC_TYPES)

    @property
    def words(self) -> list[str]:
        return [singular(w) for w in self.name.lower().split("_") if w]


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def noun(self) -> str:
        """The table's name as one singular word (``order_items`` → ``order item``)."""
        return " ".join(singular(w) for w in self.name.lower().split("_") if w)


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...]

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)


@dataclass(frozen=True)
class DatabaseTools:
    """One server's query tool and schema tool."""

    query: ToolSpec
    sql_property: str
    schema: ToolSpec

    @property
    def server(self) -> str:
        return self.query.server


def find_database(tools: Sequence[ToolSpec]) -> DatabaseTools | None:
    for spec in sorted(tools, key=lambda s: (s.server, s.name)):
        required = spec.input_schema.get("required", [])
        sql_property = next((p for p in _SQL_PROPERTIES if p in required), None)
        if not spec.read_only or sql_property is None:
            continue
        schema = next(
            (
                other
                for other in sorted(tools, key=lambda s: s.name)
                if other.server == spec.server
                and other.read_only
                and "schema" in other.name.lower()
                and not other.input_schema.get("required")
            ),
            None,
        )
        if schema is not None:
            return DatabaseTools(spec, sql_property, schema)
    return None


def _allowed_values(create_sql: str) -> dict[str, tuple[str, ...]]:
    allowed: dict[str, tuple[str, ...]] = {}
    for match in _CHECK_IN.finditer(create_sql):
        values = tuple(v.replace("''", "'") for v in _STRING_LITERAL.findall(match.group(2)))
        if values:
            allowed.setdefault(match.group(1), values)
    return allowed


def parse_schema(result: Any) -> Schema | None:
    """The schema tool's result as a ``Schema``; None when it is not the shape described above."""
    if not isinstance(result, dict) or not isinstance(result.get("tables"), list):
        return None
    tables: list[Table] = []
    for raw in result["tables"]:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            continue
        allowed = _allowed_values(raw["sql"]) if isinstance(raw.get("sql"), str) else {}
        columns = tuple(
            Column(
                name=c["name"],
                type=str(c.get("type") or ""),
                primary_key=bool(c.get("primary_key")),
                allowed=allowed.get(c["name"], ()),
            )
            for c in raw.get("columns", [])
            if isinstance(c, dict) and isinstance(c.get("name"), str)
        )
        keys = tuple(
            ForeignKey(tuple(k["columns"]), k["references_table"], tuple(k.get("references_columns") or ()))
            for k in raw.get("foreign_keys", [])
            if isinstance(k, dict) and isinstance(k.get("columns"), list) and isinstance(k.get("references_table"), str)
        )
        if columns:
            tables.append(Table(raw["name"], columns, keys))
    return Schema(tuple(tables)) if tables else None
