"""From a task to planned tool calls: one step per clause, results passed on by workflow references.

Each clause ("What is the weather in Paris?", "save it under the key paris") becomes at most one
call. A clause about the database's data (it uses words only the database's tools use, or names one
of its tables) is answered with SQL written from the schema (``sql.py``); the schema is read first
when the planner has not seen it (``Plan.schema_needed``). Any other clause takes the best tool of
``scoring.rank`` and the arguments it states (``arguments.fill_arguments``).

A required argument the clause does not give may come from an earlier step, written as a workflow
reference (``{{ steps.<id>.result.<field> }}``): when the clause points back ("it", "its", "that") or
follows with ``then``, a property named like a field of the earlier step's output (``run_id`` ←
``job_run_id``) reads that field, and a property that takes any JSON reads the whole result. The
step then waits for the one it reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.agent_core.model import ToolSpec
from apps.agent_core.reasoning.planner.arguments import ArgumentPlan, fill_arguments
from apps.agent_core.reasoning.planner.schema import DatabaseTools, Schema, find_database
from apps.agent_core.reasoning.planner.scoring import Candidate, CatalogIndex, rank
from apps.agent_core.reasoning.planner.sql import SqlGap, write_sql
from apps.agent_core.reasoning.planner.text import (
    SQL_START,
    STOPWORDS,
    Clause,
    intent_words,
    quoted_values,
    split_clauses,
    words,
)
from apps.agent_core.reasoning.planner.text import stem as root

__all__ = ["Plan", "PlannedStep", "plan_task"]

_BACK_REFERENCE = re.compile(r"\b(?:it|its|that|this|them|those|these|the result|the results|the answer)\b", re.I)
_BARE_SQL = re.compile(r"\b(?:SELECT|WITH)\b[^;]*?\bFROM\b")
_SCHEMA_ROOT = root("schema")
_CLOSE_SCORE = 0.75
"""A tool scoring at least this share of the best one is as good an answer when the best lacks inputs."""
_TABLE_NAMED = re.compile(r"\b(?:table\s+([A-Za-z_]\w*)|([A-Za-z_]\w*)\s+table)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PlannedStep:
    id: str
    """The step's name in references: ``{{ steps.<id>.result }}``."""
    spec: ToolSpec
    arguments: dict[str, Any]
    """As planned: values that read an earlier step are templates, resolved when that step has run."""
    after: tuple[str, ...] = ()
    """Steps that must finish first: those it reads, and the one before a ``then``."""
    reason: str = ""
    """Why this tool, in a few words, for the answer."""
    clause: str = ""
    """The words of the task it answers."""


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlannedStep, ...] = ()
    notes: tuple[str, ...] = ()
    """What could not be planned, and why; shown in the answer."""
    schema_needed: ToolSpec | None = None
    """Read this tool's result (the database schema) first, then plan again with it."""


@dataclass
class _Draft:
    steps: list[PlannedStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def step_id(self, spec: ToolSpec) -> str:
        taken = {step.id for step in self.steps}
        base = spec.name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", spec.name) else "step"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        return candidate


@dataclass(frozen=True)
class _Context:
    tools: Sequence[ToolSpec]
    index: CatalogIndex
    database: DatabaseTools | None
    schemas: Mapping[str, Schema | None]
    database_words: frozenset[str]


def plan_task(task: str, tools: Sequence[ToolSpec], schemas: Mapping[str, Schema | None] | None = None) -> Plan:
    """The plan for ``task`` over ``tools``; ``schemas`` holds each database server's schema already read
    (None: read, but not understood)."""
    if not tools or not task.strip():
        return Plan()
    ordered = sorted(tools, key=lambda s: (s.server, s.name))
    index = CatalogIndex(ordered)
    database = find_database(ordered)
    own_words: frozenset[str] = frozenset()
    if database is not None:
        # Words only the database's tools use ("customers", "orders" in its description): data questions.
        own_words = frozenset(t for t in index.tokens if index.servers_using(t) == {database.server} and len(t) > 3)
    context = _Context(ordered, index, database, schemas or {}, own_words)
    draft = _Draft()
    carried = ""
    # SQL written in the task is the whole request: its words (FROM, AND…) are not clauses of their own.
    for clause in [Clause(task.strip())] if _has_sql(task) else split_clauses(task):
        text = f"{carried} {clause.text}".strip() if carried else clause.text
        # "… to 4 replicas and do a dry run": a clause asking the same tool again says more about that call.
        if draft.steps and not clause.after_previous and _same_tool(text, draft.steps[-1], context):
            merged = _merge(clause.text, context, draft)
            if merged is not False:
                if isinstance(merged, ToolSpec):
                    return Plan(schema_needed=merged)
                carried = ""
                continue
        outcome = _plan_clause(text, clause, context, draft)
        if isinstance(outcome, ToolSpec):
            return Plan(schema_needed=outcome)
        if outcome:
            carried = ""
            continue
        # A clause that asks for nothing on its own says more about the one before: "… in Paris and in London"
        # asks that tool again; "… and in the shop namespace" completes its call.
        if draft.steps and not clause.after_previous:
            last, count, notes = draft.steps[-1], len(draft.steps), list(draft.notes)
            again = _plan_clause(f"{last.spec.name.replace('_', ' ')} {clause.text}", clause, context, draft)
            if len(draft.steps) == count + 1 and draft.steps[-1].spec is last.spec:
                carried = ""
                continue
            del draft.steps[count:]
            draft.notes = notes
            if isinstance(again, ToolSpec):
                return Plan(schema_needed=again)
        merged = _merge(clause.text, context, draft) if draft.steps and not clause.after_previous else False
        if isinstance(merged, ToolSpec):
            return Plan(schema_needed=merged)
        carried = "" if merged else text
    return Plan(tuple(draft.steps), tuple(dict.fromkeys(draft.notes)))


def _same_tool(text: str, last: PlannedStep, context: _Context) -> bool:
    if _BACK_REFERENCE.search(text):
        return False
    allowed, refused = rank(text, intent_words(text), context.index)
    candidates = sorted([*allowed, *refused], key=lambda c: -c.score)
    return bool(candidates) and candidates[0].spec is last.spec


def _merge(text: str, context: _Context, draft: _Draft) -> bool | ToolSpec:
    """Plans the last step again with ``text`` added; True when that gives the same tool, else undone."""
    last, notes = draft.steps.pop(), list(draft.notes)
    count = len(draft.steps)
    merged = _plan_clause(f"{last.clause} {text}", Clause(last.clause, bool(last.after)), context, draft)
    if isinstance(merged, ToolSpec):
        return merged
    if len(draft.steps) == count + 1 and draft.steps[-1].spec is last.spec:
        return True
    del draft.steps[count:]
    draft.steps.append(last)
    draft.notes = notes
    return False


def _plan_clause(text: str, clause: Clause, context: _Context, draft: _Draft) -> bool | ToolSpec:
    """Adds the clause's step (True), or returns the schema tool to read first, or False for nothing."""
    words = intent_words(text)
    database = context.database
    allowed, refused = rank(text, words, context.index)
    # A write the clause asks for by name ("save it under the key …") is never a question about data.
    asked_write = bool(allowed) and not allowed[0].spec.read_only
    if database is not None and not asked_write and not _has_sql(text) and _about_data(text, words, context):
        schema = context.schemas.get(database.server, _UNREAD)
        if _SCHEMA_ROOT in words:
            table = _schema_arguments(text, database.schema, schema if isinstance(schema, Schema) else None)
            return _add(draft, database.schema, table, text, clause, "a question about the schema")
        if schema is _UNREAD:
            return database.schema
        if isinstance(schema, Schema):
            written = write_sql(text, schema)
            if not isinstance(written, SqlGap):
                arguments: dict[str, Any] = {database.sql_property: written.sql}
                if written.params and "params" in database.query.input_schema.get("properties", {}):
                    arguments["params"] = written.params
                return _add(
                    draft,
                    database.query,
                    arguments,
                    text,
                    clause,
                    f"SQL written from the schema: {written.explanation}",
                )
            gap = written.reason
        else:
            gap = f"{database.schema.server}.{database.schema.name} returned a schema the planner cannot read"
        if not allowed or allowed[0].spec.server == database.server:
            draft.notes.append(f"No SQL was written for \u201c{text.strip()}\u201d: {gap}.")
            return True
    if not allowed:
        for candidate in refused[:1]:
            spec = candidate.spec
            draft.notes.append(
                f"{spec.server}.{spec.name} matches the task but was not called: {candidate.refused}. "
                f"Ask for it by name (e.g. '{spec.name.replace('_', ' ')} …') to run it."
            )
        return bool(refused)
    best, filled = _fillable(text, clause, allowed, draft)
    if refused and refused[0].score > best.score:
        spec = refused[0].spec
        draft.notes.append(
            f"{spec.server}.{spec.name} matches the task but was not called: {refused[0].refused}. "
            f"Ask for it by name (e.g. '{spec.name.replace('_', ' ')} …') to run it."
        )
    arguments, after, missing = dict(filled.arguments), [], []
    for entry in filled.missing:
        name = entry.split(" (", 1)[0]
        reference = _from_earlier(name, best.spec, text, clause, draft)
        if reference is None:
            missing.append(entry)
        else:
            arguments[name], source = reference
            after.append(source)
    if missing:
        draft.notes.append(
            f"{best.spec.server}.{best.spec.name} was not called: the task does not give {', '.join(missing)}."
        )
        return True
    ordered = {name: arguments[name] for name in best.spec.input_schema.get("properties", {}) if name in arguments}
    return _add(draft, best.spec, ordered, text, clause, _matched(best, text), tuple(dict.fromkeys(after)))


_UNREAD: Any = object()


def _fillable(text: str, clause: Clause, allowed: list[Candidate], draft: _Draft) -> tuple[Candidate, ArgumentPlan]:
    """Of the tools scoring close to the best, the first that can be called with what the clause gives (or
    earlier steps return) and uses most of it ("under the key paris": get_data, which takes a key, over list_keys)."""
    close = [c for c in allowed if c.score >= _CLOSE_SCORE * allowed[0].score]
    filled = [(candidate, fill_arguments(text, candidate.spec)) for candidate in close]

    def unmet(candidate: Candidate, plan: ArgumentPlan) -> bool:
        names = [entry.split(" (", 1)[0] for entry in plan.missing]
        return any(_from_earlier(name, candidate.spec, text, clause, draft) is None for name in names)

    return min(filled, key=lambda pair: (unmet(*pair), -len(pair[1].arguments) - len(pair[1].missing)))


def _has_sql(text: str) -> bool:
    return bool(_BARE_SQL.search(text)) or any(SQL_START.match(v) for v in quoted_values(text))


def _about_data(text: str, words: set[str], context: _Context) -> bool:
    if words & context.database_words:
        return True
    database = context.database
    schema = context.schemas.get(database.server) if database else None
    if isinstance(schema, Schema):
        return any(root(t.noun.split()[-1]) in words for t in schema.tables)
    return False


def _schema_arguments(text: str, spec: ToolSpec, schema: Schema | None) -> dict[str, Any]:
    """``table`` for "the orders table" / "table orders": a table of the schema, or a name the property accepts."""
    prop = spec.input_schema.get("properties", {}).get("table")
    if not isinstance(prop, dict):
        return {}
    names = {t.name.lower(): t.name for t in schema.tables} if schema else {}
    for match in _TABLE_NAMED.finditer(text):
        named = match.group(1) or match.group(2)
        if named.lower() in names:
            return {"table": names[named.lower()]}
        if not names and named.lower() not in STOPWORDS and _accepts(prop, spec.input_schema, named):
            return {"table": named}
    return {}


def _accepts(prop: dict[str, Any], root_schema: dict[str, Any], value: str) -> bool:
    branches = [prop, *[b for b in prop.get("anyOf", []) if isinstance(b, dict)]]
    patterns = [b["pattern"] for b in branches if isinstance(b.get("pattern"), str)]
    return all(re.search(pattern, value) for pattern in patterns)


def _add(
    draft: _Draft,
    spec: ToolSpec,
    arguments: dict[str, Any],
    text: str,
    clause: Clause,
    reason: str,
    reads: tuple[str, ...] = (),
) -> bool:
    after = list(reads)
    if clause.after_previous and draft.steps and draft.steps[-1].id not in after:
        after.append(draft.steps[-1].id)
    draft.steps.append(PlannedStep(draft.step_id(spec), spec, arguments, tuple(after), reason, text.strip()))
    return True


def _matched(candidate: Candidate, text: str) -> str:
    # The task's own words, not their roots: "matched glue, jobs", not "glu, job".
    shown = [w for w in dict.fromkeys(re.findall(r"[\w-]+", text.lower())) if set(words(w)) & set(candidate.matched)]
    return "matched " + ", ".join(shown) if shown else "named in the task"


def _from_earlier(name: str, spec: ToolSpec, text: str, clause: Clause, draft: _Draft) -> tuple[str, str] | None:
    """A reference to an earlier step's result for the missing property ``name``, and that step's id."""
    if not draft.steps or not (clause.after_previous or _BACK_REFERENCE.search(text)):
        return None
    schema = spec.input_schema.get("properties", {}).get(name, {})
    any_json = isinstance(schema, dict) and not ({"type", "anyOf", "oneOf", "$ref", "enum"} & set(schema))
    for earlier in reversed(draft.steps):
        fields = (earlier.spec.output_schema or {}).get("properties", {})
        field_name = name if name in fields else next((f for f in fields if f.endswith(f"_{name}")), None)
        if field_name is not None:
            return f"{{{{ steps.{earlier.id}.result.{field_name} }}}}", earlier.id
        if any_json:
            return f"{{{{ steps.{earlier.id}.result }}}}", earlier.id
    return None
