"""Describing tables from SQLite's catalogue, on a connection the sandbox has already locked down.

Everything here is a read of ``sqlite_master`` or a lookup PRAGMA the sandbox's authorizer allows,
so schema questions go through the same read-only path as queries.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

from apps.mcp_database.models import ColumnInfo, ForeignKeyInfo, IndexInfo, TableInfo

__all__ = ["CatalogEntry", "describe", "list_objects"]


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    type: Literal["table", "view"]
    sql: str | None


def quote_identifier(name: str) -> str:
    # PRAGMA arguments cannot be bound parameters; a quoted identifier keeps any name a name.
    return '"' + name.replace('"', '""') + '"'


def list_objects(conn: sqlite3.Connection) -> list[CatalogEntry]:
    """User tables and views by name; SQLite's own (sqlite_stat1, sqlite_sequence) are left out."""
    rows = conn.execute(
        "SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view')"
        " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    return [CatalogEntry(name, "view" if kind == "view" else "table", sql) for name, kind, sql in rows]


def describe(conn: sqlite3.Connection, entry: CatalogEntry) -> TableInfo:
    quoted = quote_identifier(entry.name)
    columns = _columns(conn, quoted)
    row_count = None
    if entry.type == "table":  # counting a view would run its query, which may be slow
        row_count = int(conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])
    return TableInfo(
        name=entry.name,
        type=entry.type,
        columns=columns,
        foreign_keys=_foreign_keys(conn, quoted),
        indexes=_indexes(conn, quoted),
        row_count=row_count,
        sql=entry.sql,
    )


def _columns(conn: sqlite3.Connection, quoted: str) -> list[ColumnInfo]:
    # table_xinfo also lists generated columns; hidden == 1 marks a virtual table's hidden column.
    rows = [row for row in conn.execute(f"PRAGMA table_xinfo({quoted})").fetchall() if row[6] != 1]
    key_columns = [row for row in rows if row[5]]
    # A lone INTEGER PRIMARY KEY is the rowid and can never be NULL, though table_info reports notnull 0.
    rowid_alias = key_columns[0][1] if len(key_columns) == 1 and str(key_columns[0][2]).upper() == "INTEGER" else None
    return [
        ColumnInfo(
            name=name,
            type=declared or "",
            nullable=not notnull and name != rowid_alias,
            default=default,
            primary_key=int(pk),
        )
        for _cid, name, declared, notnull, default, pk, _hidden in rows
    ]


def _primary_key(conn: sqlite3.Connection, table: str) -> list[str]:
    rows = conn.execute(f"PRAGMA table_info({quote_identifier(table)})").fetchall()
    return [row[1] for row in sorted((row for row in rows if row[5]), key=lambda row: row[5])]


def _foreign_keys(conn: sqlite3.Connection, quoted: str) -> list[ForeignKeyInfo]:
    groups: dict[int, list[tuple[int, int, str, str, str | None, str, str, str]]] = {}
    for row in conn.execute(f"PRAGMA foreign_key_list({quoted})").fetchall():
        groups.setdefault(row[0], []).append(row)
    keys = []
    for _, rows in sorted(groups.items()):
        rows.sort(key=lambda row: row[1])
        parent = rows[0][2]
        targets = [row[4] for row in rows]
        if any(target is None for target in targets):  # "REFERENCES parent" alone means its primary key
            targets = list(_primary_key(conn, parent)) or ["rowid"]
        keys.append(
            ForeignKeyInfo(
                columns=[row[3] for row in rows],
                references_table=parent,
                references_columns=[str(target) for target in targets],
                on_update=rows[0][5],
                on_delete=rows[0][6],
            )
        )
    return keys


def _indexes(conn: sqlite3.Connection, quoted: str) -> list[IndexInfo]:
    indexes = []
    for _seq, name, unique, _origin, partial in conn.execute(f"PRAGMA index_list({quoted})").fetchall():
        info = conn.execute(f"PRAGMA index_info({quote_identifier(name)})").fetchall()
        columns = [column or "<expression>" for _seqno, _cid, column in sorted(info)]
        indexes.append(IndexInfo(name=name, unique=bool(unique), columns=columns, partial=bool(partial)))
    return sorted(indexes, key=lambda index: index.name)
