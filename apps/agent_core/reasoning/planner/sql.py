"""Simple SQL from a plain question and a schema: counts, sums and averages per column, top N, filters, joins.

The question must name a table ("orders", "customers"); columns are found by their words ("per
status", "by shipping country", "each customer segment"), measures by a few concepts (money for
"spent"/"revenue", price for "expensive", time for "recent") matched against column names. Tables are
joined only along a declared foreign key. Values from the question are bound as ``?`` parameters,
never spliced into the SQL text. Anything else is a ``SqlGap`` that says what was missing, so the
planner can say it plainly instead of guessing.

    "How many orders per status?"
    → SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY n DESC
    "Which 5 customers spent the most?"
    → SELECT customers.id, customers.first_name, customers.last_name, sum(orders.total_cents) AS total_cents
      FROM customers JOIN orders ON orders.customer_id = customers.id GROUP BY customers.id
      ORDER BY total_cents DESC LIMIT 5
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apps.agent_core.reasoning.planner.schema import Column, Schema, Table
from apps.agent_core.reasoning.planner.text import singular

__all__ = ["DEFAULT_LIMIT", "SqlGap", "SqlQuery", "write_sql"]

DEFAULT_LIMIT = 50
"""Rows a plain listing asks for when the question gives no number."""

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")
_COUNT = re.compile(r"\b(?:how many|number of|count)\b", re.IGNORECASE)
_GROUP = re.compile(r"\b(?:per|by|for each|in each|each|across)\s+((?:\w+\s+){0,2}\w+)", re.IGNORECASE)
_WHICH_N = re.compile(r"\b(?:which|what|top|first)\s+(\d+)\s+((?:\w+\s+){0,1}\w+)", re.IGNORECASE)
_LIMIT = re.compile(r"\b(?:top|first|which|what|limit)\s+(\d+)\b|\b(\d+)\s+(?:most|least|\w+est)\b", re.IGNORECASE)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Concepts a question uses for a measure, and the column-name words that carry it, most telling first.
_MEASURES: dict[str, tuple[str, ...]] = {
    "money": ("total", "amount", "revenue", "price", "cents", "cost"),
    "price": ("price", "cost", "cents"),
    "weight": ("weight", "kg"),
    "quantity": ("quantity", "qty", "count"),
    "time": ("at", "date", "time", "on"),
}
_CONCEPT_WORDS = {
    "money": {"spent", "spend", "spends", "spending", "revenue", "sales", "sale", "amount", "money", "earned"},
    "price": {"expensive", "cheap", "cheapest", "price", "priced", "prices", "cost", "costly", "pricey"},
    "weight": {"heavy", "heaviest", "light", "lightest", "weight", "weigh"},
    "quantity": {"quantity", "quantities", "units"},
    "time": {"recent", "latest", "newest", "oldest", "earliest", "last"},
}
_DESCENDING = {"most", "highest", "largest", "biggest", "top", "max", "maximum", "expensive", "heaviest", "best"}
_DESCENDING |= {"recent", "latest", "newest", "last"}
_ASCENDING = {"least", "lowest", "smallest", "cheapest", "cheap", "min", "minimum", "lightest", "oldest", "earliest"}
_SUM_WORDS = {"total", "sum", "spent", "spend", "revenue", "sales"}
_AVG_WORDS = {"average", "avg", "mean"}
_LABEL_NAMES = ("name", "first_name", "last_name", "title", "email", "sku")


@dataclass(frozen=True)
class SqlQuery:
    sql: str
    params: list[Any] = field(default_factory=list)
    explanation: str = ""


@dataclass(frozen=True)
class SqlGap:
    reason: str


@dataclass
class _Question:
    text: str
    tokens: list[str]
    """Lower-cased singular words, in order."""

    def has(self, options: set[str]) -> bool:
        return any(t in options for t in self.tokens) or any(w in options for w in self.text.lower().split())


def _q(name: str) -> str:
    return name if _IDENTIFIER.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def _find_phrase(tokens: list[str], phrase: list[str]) -> int:
    for i in range(len(tokens) - len(phrase) + 1):
        if tokens[i : i + len(phrase)] == phrase:
            return i
    return -1


def _mentioned_tables(question: _Question, schema: Schema) -> list[Table]:
    """Tables the question names, in the order it names them; a longer name wins where two overlap."""
    found: list[tuple[int, int, Table]] = []
    for table in schema.tables:
        at = _find_phrase(question.tokens, table.noun.split())
        if at >= 0:
            found.append((at, -len(table.noun.split()), table))
    found.sort(key=lambda item: (item[0], item[1]))
    chosen: list[Table] = []
    taken: set[int] = set()
    for at, negative_length, table in found:
        span = set(range(at, at - negative_length))
        if not span & taken:
            chosen.append(table)
            taken |= span
    return chosen


def _link(a: Table, b: Table) -> tuple[str, str] | None:
    """``(a.column, b.column)`` along a foreign key declared on either side."""
    for key in a.foreign_keys:
        if key.table == b.name and len(key.columns) == 1:
            return key.columns[0], (key.references[0] if key.references else _primary(b))
    for key in b.foreign_keys:
        if key.table == a.name and len(key.columns) == 1:
            return (key.references[0] if key.references else _primary(a)), key.columns[0]
    return None


def _primary(table: Table) -> str:
    return next((c.name for c in table.columns if c.primary_key), table.columns[0].name)


def _neighbours(table: Table, schema: Schema) -> list[Table]:
    return [other for other in schema.tables if other is not table and _link(table, other) is not None]


def _tokens(text: str) -> list[str]:
    return [singular(w) for w in re.findall(r"[a-z0-9]+", text.lower())]


def _column_in(phrase: str, tables: list[Table]) -> tuple[Table, Column] | None:
    """The column a phrase names ("shipping country", "customer segment", "status"); full names first."""
    tokens = _tokens(phrase)
    best: tuple[int, int, Table, Column] | None = None
    for rank, table in enumerate(tables):
        for column in table.columns:
            words = column.words
            if _find_phrase(tokens, words) >= 0:
                score = 2 * len(words) + (1 if _find_phrase(tokens, table.noun.split()) >= 0 else 0)
            elif words and words[-1] in tokens[:1]:
                score = 1  # "country" for shipping_country, only when nothing names a column fully
            else:
                continue
            if best is None or (score, -rank) > (best[0], -best[1]):
                best = (score, rank, table, column)
    return (best[2], best[3]) if best else None


def _measure(question: _Question, tables: list[Table]) -> tuple[Table, Column] | None:
    for concept, words in _CONCEPT_WORDS.items():
        if not question.has(words):
            continue
        for fragment in _MEASURES[concept]:
            for table in tables:
                for column in table.columns:
                    numeric_or_time = column.numeric or concept == "time"
                    if fragment in column.name.lower().split("_") and numeric_or_time and not column.primary_key:
                        return table, column
    if question.has(_SUM_WORDS | _AVG_WORDS):
        # "average order total", "sum of quantity": a numeric column named in the question.
        for table in tables:
            for column in table.columns:
                foreign = any(column.name == key for t in tables for k in t.foreign_keys for key in k.columns)
                named = set(column.words) & set(question.tokens)
                if column.numeric and not column.primary_key and not foreign and named:
                    return table, column
    return None


def _filters(question: _Question, tables: list[Table]) -> list[tuple[Table, Column, Any]]:
    found: list[tuple[Table, Column, Any]] = []
    lowered = question.text.lower()
    for table in tables:
        for column in table.columns:
            for value in column.allowed:
                if re.search(rf"(?<![\w-]){re.escape(value.lower())}(?![\w-])", lowered):
                    found.append((table, column, value))
                    break
            else:
                said = _said_value(question.text, column)
                if said is not None:
                    found.append((table, column, said))
    return found


def _said_value(text: str, column: Column) -> Any | None:
    """``<column> is <value>``, ``<column> = <value>``, ``<column> '<value>'``; a number for a numeric column."""
    phrase = r"[\s_]+".join(re.escape(w) for w in column.name.lower().split("_"))
    value = r"(?:\"([^\"]+)\"|'([^']+)'|([A-Za-z0-9][\w.@-]*))"
    connected = re.search(rf"\b{phrase}s?\s*(?:is|=|:|equals|of)\s*{value}", text, re.IGNORECASE)
    quoted = re.search(rf"\b{phrase}s?\s+(?:\"([^\"]+)\"|'([^']+)')", text, re.IGNORECASE)
    number = re.search(rf"\b{phrase}s?\s+(\d+)\b", text, re.IGNORECASE) if column.numeric else None
    match = connected or quoted or number
    if match is None:
        return None
    said = next(g for g in match.groups() if g is not None)
    if said.lower() in {"the", "a", "an"}:
        return None
    return int(said) if column.numeric and said.isdigit() else said


def _row_references(text: str, subject: Table, schema: Schema) -> list[tuple[Table, Column, int]]:
    """``customer 42`` in a question about orders: the foreign key to customers equals 42."""
    found: list[tuple[Table, Column, int]] = []
    for table in schema.tables:
        phrase = r"[\s_]+".join(re.escape(w) for w in table.noun.split())
        match = re.search(rf"\b{phrase}s?\s+(?:#|id\s+|number\s+)?(\d+)\b", text, re.IGNORECASE)
        if match is None:
            continue
        link = _link(subject, table) if table is not subject else (_primary(subject), _primary(subject))
        column = subject.column(link[0]) if link else None
        if column is not None:
            found.append((subject, column, int(match.group(1))))
    return found


def _limit(question: _Question) -> int | None:
    match = _LIMIT.search(question.text)
    if match:
        return int(match.group(1) or match.group(2))
    listed = re.search(r"\b(?:list|show|get|give)\s+(?:me\s+)?(?:the\s+)?(\d+)\b", question.text, re.IGNORECASE)
    return int(listed.group(1)) if listed else None


def _descending(question: _Question) -> bool:
    return not question.has(_ASCENDING)


def _labels(table: Table) -> list[str]:
    names = [c.name for c in table.columns if c.name in _LABEL_NAMES]
    return names[:2] if "name" not in names else ["name"]


class _Builder:
    def __init__(self, subject: Table) -> None:
        self.subject = subject
        self.joined: list[Table] = []
        self.conditions: list[str] = []
        self.params: list[Any] = []
        self.joins: list[str] = []

    def join(self, table: Table) -> bool:
        if table is self.subject or table in self.joined:
            return True
        for base in [self.subject, *self.joined]:
            link = _link(base, table)
            if link is not None:
                self.joined.append(table)
                self.joins.append(f"JOIN {_q(table.name)} ON {self.col(base, link[0])} = {self.col(table, link[1])}")
                return True
        return False

    def col(self, table: Table, column: str) -> str:
        qualified = bool(self.joined)
        return f"{_q(table.name)}.{_q(column)}" if qualified else _q(column)

    def build(self, select: list[tuple[Table, str] | str], tail: str) -> str:
        parts = [self.col(*item) if isinstance(item, tuple) else item for item in select]
        sql = f"SELECT {', '.join(parts)} FROM {_q(self.subject.name)}"
        if self.joins:
            sql += " " + " ".join(self.joins)
        if self.conditions:
            sql += " WHERE " + " AND ".join(self.conditions)
        return sql + tail


def write_sql(text: str, schema: Schema) -> SqlQuery | SqlGap:
    """A query answering ``text`` over ``schema``, or why none can be written."""
    question = _Question(text, _tokens(text))
    mentioned = _mentioned_tables(question, schema)
    if not mentioned:
        names = ", ".join(t.name for t in schema.tables)
        return SqlGap(f"the question names none of the database's tables ({names})")
    counting = bool(_COUNT.search(text))
    count_at = _COUNT.search(text)
    subject = mentioned[0]
    if count_at:
        after = _Question(text[count_at.end() :], _tokens(text[count_at.end() :]))
        counted = _mentioned_tables(after, schema)
        subject = counted[0] if counted else subject
    reachable = [subject, *[t for t in mentioned if t is not subject], *_neighbours(subject, schema)]
    reachable = list(dict.fromkeys(reachable))
    builder = _Builder(subject)
    limit, descending = _limit(question), _descending(question)
    group = _group_column(text, reachable, subject)
    measure = _measure(question, reachable)
    for table, column, value in [*_filters(question, reachable), *_row_references(text, subject, schema)]:
        if group is not None and column is group[1]:
            continue
        if builder.join(table):
            builder.conditions.append(f"{builder.col(table, column.name)} = ?")
            builder.params.append(value)
    # Qualified names are decided once every join is known, so conditions are rebuilt after joins below.
    if group is not None:
        return _grouped(builder, question, group, measure, counting, limit, descending)
    if measure is not None and (limit is not None or question.has(_DESCENDING | _ASCENDING)) and not counting:
        return _ranked(builder, question, measure, limit, descending)
    if counting:
        return _finish(builder, ["count(*) AS n"], "", "a count")
    if measure is not None and question.has(_SUM_WORDS | _AVG_WORDS):
        function = "avg" if question.has(_AVG_WORDS) else "sum"
        if not builder.join(measure[0]):
            return SqlGap(f"no foreign key joins {subject.name} to {measure[0].name}")
        alias = f"{function}_{measure[1].name}" if function == "avg" else measure[1].name
        return _finish(
            builder, [f"{function}({builder.col(measure[0], measure[1].name)}) AS {_q(alias)}"], "", function
        )
    return _finish(builder, ["*"], f" LIMIT {limit or DEFAULT_LIMIT}", "a listing")


def _group_column(text: str, tables: list[Table], subject: Table) -> tuple[Table, Column] | None:
    for match in _GROUP.finditer(text):
        found = _column_in(match.group(1), tables)
        if found is not None:
            return found
        named = [t for t in tables if _find_phrase(_tokens(match.group(1)), t.noun.split()) == 0]
        if named:
            # "per product": one group per row of that table, labelled by its name columns.
            return named[0], named[0].column(_primary(named[0])) or named[0].columns[0]
    which = _WHICH_N.search(text)
    if which:
        found = _column_in(which.group(2), tables)
        if found is not None and found[0] is subject and not found[1].primary_key:
            return found
    return None


def _grouped(
    builder: _Builder,
    question: _Question,
    group: tuple[Table, Column],
    measure: tuple[Table, Column] | None,
    counting: bool,
    limit: int | None,
    descending: bool,
) -> SqlQuery | SqlGap:
    if not builder.join(group[0]):
        return SqlGap(f"no foreign key joins {builder.subject.name} to {group[0].name}")
    if measure is not None and not counting:
        if not builder.join(measure[0]):
            return SqlGap(f"no foreign key joins {builder.subject.name} to {measure[0].name}")
        function = "avg" if question.has(_AVG_WORDS) else "sum"
        alias = f"{function}_{measure[1].name}" if function == "avg" else measure[1].name
        metric = f"{function}({{m}}) AS {_q(alias)}"
        metric_name = alias
    else:
        metric, metric_name = "count(*) AS n", "n"
    tail = f" GROUP BY {{g}} ORDER BY {_q(metric_name)} {'DESC' if descending else 'ASC'}"
    tail += f" LIMIT {limit}" if limit else ""
    group_sql = builder.col(group[0], group[1].name)
    labels = [builder.col(group[0], name) for name in _labels(group[0])] if group[1].primary_key else []
    metric = metric.replace("{m}", builder.col(measure[0], measure[1].name)) if measure and not counting else metric
    shape = f"per {group[0].noun if group[1].primary_key else group[1].name}"
    return _finish(builder, [group_sql, *labels, metric], tail.replace("{g}", group_sql), shape)


def _ranked(
    builder: _Builder, question: _Question, measure: tuple[Table, Column], limit: int | None, descending: bool
) -> SqlQuery | SqlGap:
    order = "DESC" if descending else "ASC"
    count = limit or 1
    subject = builder.subject
    if measure[0] is subject:
        return _finish(builder, ["*"], f" ORDER BY {_q(measure[1].name)} {order} LIMIT {count}", "top rows")
    # The measure lives in a table that points at the subject (orders → customers): add it up per subject row.
    if not builder.join(measure[0]):
        return SqlGap(f"no foreign key joins {subject.name} to {measure[0].name}")
    key = builder.col(subject, _primary(subject))
    function = "avg" if question.has(_AVG_WORDS) else "sum"
    alias = f"{function}_{measure[1].name}" if function == "avg" else measure[1].name
    select = [key, *(builder.col(subject, name) for name in _labels(subject))]
    select.append(f"{function}({builder.col(measure[0], measure[1].name)}) AS {_q(alias)}")
    tail = f" GROUP BY {key} ORDER BY {_q(alias)} {order} LIMIT {count}"
    return _finish(builder, list(select), tail, f"top {count} by {function} of {measure[1].name}")


def _finish(builder: _Builder, select: list[str], tail: str, shape: str) -> SqlQuery:
    conditions = builder.conditions
    # Conditions were written before later joins qualified every name: qualify them now if needed.
    if builder.joined:
        conditions = [c if "." in c.split(" = ")[0] else f"{_q(builder.subject.name)}.{c}" for c in conditions]
    builder.conditions = conditions
    sql = builder.build(list(select), tail)
    tables = ", ".join([builder.subject.name, *(t.name for t in builder.joined)])
    return SqlQuery(sql, list(builder.params), f"{shape} over {tables}")
