"""README.md's configuration tables, rendered from the settings classes: ``make docs`` runs this module.

A variable's meaning is written once, as its field's docstring; its name, default and accepted values come from
the field itself. Each table sits in README.md between ``<!-- BEGIN GENERATED: <key> settings -->`` and
``<!-- END GENERATED: <key> settings -->``; this module rewrites what is between them, and a test fails when the
README differs from what it renders, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from apps.agent_core.settings import AgentCoreSettings
from apps.common.settings import McpServerSettings, ServiceSettings, env_name
from apps.mcp_aws.settings import AwsSettings
from apps.mcp_bridge.settings import BridgeSettings
from apps.mcp_custom.settings import CustomSettings
from apps.mcp_database.settings import DatabaseSettings
from apps.mcp_kubernetes.settings import KubernetesSettings

README = Path(__file__).resolve().parent.parent / "README.md"


@dataclass(frozen=True)
class Table:
    key: str
    """Names the table's markers in README.md."""
    settings: type[ServiceSettings]
    base: type[ServiceSettings] | None
    """Fields inherited from it unchanged are documented in its own table, not repeated here."""


TABLES = (
    Table("common", ServiceSettings, None),
    Table("agent-core", AgentCoreSettings, ServiceSettings),
    Table("mcp-servers", McpServerSettings, ServiceSettings),
    Table("mcp-aws", AwsSettings, McpServerSettings),
    Table("mcp-database", DatabaseSettings, McpServerSettings),
    Table("mcp-custom", CustomSettings, McpServerSettings),
    Table("mcp-kubernetes", KubernetesSettings, McpServerSettings),
    Table("mcp-bridge", BridgeSettings, McpServerSettings),
)

HEADER = "| variable | default | accepted | meaning |\n|---|---|---|---|"


def begin_marker(key: str) -> str:
    return f"<!-- BEGIN GENERATED: {key} settings -->"


def end_marker(key: str) -> str:
    return f"<!-- END GENERATED: {key} settings -->"


def documented_fields(table: Table) -> list[tuple[str, FieldInfo]]:
    """The fields this table shows: its own, and inherited ones it redeclares (another default, say)."""
    inherited = table.base.model_fields if table.base is not None else {}
    return [
        (name, field)
        for name, field in table.settings.model_fields.items()
        if name not in inherited or _signature(field) != _signature(inherited[name])
    ]


def _signature(field: FieldInfo) -> tuple[Any, ...]:
    return (field.annotation, field.default, repr(field.metadata), field.description)


def render_table(table: Table) -> str:
    rows = [
        f"| `{env_name(name)}` | {_default(field.default, name)} | {_accepted(field, name)} | "
        f"{_prose(field.description)} |"
        for name, field in documented_fields(table)
    ]
    return "\n".join([HEADER, *rows])


def _prose(text: str | None) -> str:
    """A docstring as one Markdown table cell: reStructuredText's ``code`` becomes Markdown's, lines are joined."""
    if not text:
        raise ValueError("every settings field needs a docstring: it is the variable's documentation")
    return _cell(" ".join(text.replace("``", "`").split()))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(value: object, name: str) -> str:
    """The default as it would be written in the environment (a size also in KiB, MiB or GiB)."""
    if value is None:
        return "unset"
    if isinstance(value, tuple):
        return f"`{','.join(map(str, value))}`" if value else "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, int) and (size := _binary_size(value, name)):
        return f"`{value}` ({size})"
    return f"`{_cell(str(value))}`" if str(value) else "empty"


def _binary_size(value: int, name: str) -> str | None:
    """``65536`` → ``64 KiB`` for a byte count that is a whole number of KiB, MiB or GiB; else None."""
    if not name.endswith("_bytes"):
        return None
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= size and value % size == 0:
            return f"{value // size} {unit}"
    return None


def _accepted(field: FieldInfo, name: str) -> str:
    """The kind of value and the bounds pydantic enforces (patterns are left to the docstring)."""
    kind = _unwrap_optional(field.annotation)
    if get_origin(kind) is Literal:
        return ", ".join(f"`{choice}`" for choice in get_args(kind))
    if get_origin(kind) is tuple:
        (item, _) = get_args(kind)
        return f"comma-separated {'integers' if item is int else 'list'}"
    words = {bool: "`true` or `false`", int: "integer", float: "number", Path: "path", SecretStr: "secret text"}
    parts = [words.get(kind, "text")]
    shortest = next((c.min_length for c in field.metadata if isinstance(c, annotated_types.MinLen)), 0)
    longest = next((c.max_length for c in field.metadata if isinstance(c, annotated_types.MaxLen)), None)
    if longest is not None:
        parts.append(f"{shortest} to {longest} characters")
    elif shortest:
        parts.append(f"at least {shortest} characters")
    parts.extend(bound for constraint in field.metadata if (bound := _bound(constraint, name)) is not None)
    return ", ".join(parts)


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        (kind,) = [arg for arg in get_args(annotation) if arg is not type(None)]
        return kind
    return annotation


def _bound(constraint: object, name: str) -> str | None:
    match constraint:
        case annotated_types.Gt(gt=limit):
            return f"> {_number(limit, name)}"
        case annotated_types.Ge(ge=limit):
            return f"≥ {_number(limit, name)}"
        case annotated_types.Lt(lt=limit):
            return f"< {_number(limit, name)}"
        case annotated_types.Le(le=limit):
            return f"≤ {_number(limit, name)}"
    return None


def _number(value: object, name: str) -> str:
    # A bound is read, not typed: a size in binary units, else digits grouped.
    if isinstance(value, int) and (size := _binary_size(value, name)):
        return size
    return f"{value:,g}" if isinstance(value, float) else f"{value:,}"


def rewrite(text: str) -> str:
    """``text`` with every generated table replaced by what the settings classes render now."""
    for table in TABLES:
        before, _, after = _split(text, table.key)
        # Blank lines around the table: a comment line next to a table row may merge with it in some renderers.
        text = f"{before}{begin_marker(table.key)}\n\n{render_table(table)}\n\n{end_marker(table.key)}{after}"
    return text


def stale_tables(text: str) -> list[str]:
    """The keys of the tables in ``text`` that differ from what the settings classes render."""
    fresh = rewrite(text)
    return [table.key for table in TABLES if _split(text, table.key)[1] != _split(fresh, table.key)[1]]


def _split(text: str, key: str) -> tuple[str, str, str]:
    """What comes before the table's begin marker, what lies between its markers, and what follows the end one."""
    begin, end = begin_marker(key), end_marker(key)
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"README.md must hold {begin} once, followed by {end} once")
    before, rest = text.split(begin)
    inside, after = rest.split(end)
    return before, inside, after


def main() -> None:
    text = README.read_text(encoding="utf-8")
    stale = stale_tables(text)
    if stale:
        README.write_text(rewrite(text), encoding="utf-8")
    print(
        f"README.md: rewrote {', '.join(stale)}" if stale else "README.md: every table is up to date", file=sys.stderr
    )


if __name__ == "__main__":
    main()
