"""Checking a parsed workflow against the tool catalog before anything runs.

``validate_workflow`` returns every problem it finds, not the first, each naming where it is::

    steps[2] (id "report"): unknown tool database.run_query; database has: execute_query, get_schema
    steps[3].parallel[1] (id "top"): arguments.sql: 'sql' is a required property

It checks: tools exist; ids are unique; references compile and read only inputs that are declared and
steps that have finished by then (not later steps, not the step itself, not a sibling in the same
parallel group); literal arguments satisfy the tool's input schema (templated ones are only known at
run time, but a templated argument still counts as present for ``required``); retry and timeout are
in bounds; fallbacks are one level deep and have no ``when``; tools their servers can run now.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator, SchemaError
from jsonschema.validators import validator_for

from apps.agent_core.model import ToolSpec
from apps.agent_core.workflows.document import PlacedStep, Step, WorkflowDocument, placed_steps
from apps.agent_core.workflows.references import (
    ReferenceScope,
    condition_expression,
    contains_template,
    reference_problems,
    template_problems,
)

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_BACKOFF_SECONDS",
    "MAX_TIMEOUT_SECONDS",
    "input_problems",
    "validate_workflow",
]

MAX_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 60.0
MAX_TIMEOUT_SECONDS = 3600.0
_MAX_MESSAGE = 300


def validate_workflow(doc: WorkflowDocument, tools: Sequence[ToolSpec], unavailable: Collection[str] = ()) -> list[str]:
    """Every problem with ``doc`` given the tools that exist; an empty list means it may run.

    Steps on ``unavailable`` servers (configured, but not answering now) are not refused: their tools
    cannot be checked until the server is back, and a step that still cannot reach it fails at run
    time like any other, where ``retry`` and ``on_error`` apply. A step naming a tool its server says cannot
    run (``ToolSpec.available``) is refused with the reason and the setting to change, unless its ``on_error``
    handles the failure.
    """
    catalog = {(tool.server, tool.name): tool for tool in tools}
    placed = list(placed_steps(doc))
    chains = _chain_positions(placed)
    problems = _duplicate_ids(placed)
    result_fields = _result_fields(placed, catalog)
    for position, item in enumerate(placed):
        scope = _scope(position, placed, chains, frozenset(doc.inputs), result_fields)
        problems.extend(
            f"{item.describe()}: {problem}" for problem in _step_problems(item, scope, catalog, frozenset(unavailable))
        )
    if doc.analyze is not None:
        everything = ReferenceScope(
            finished=frozenset(p.step.id for p in placed), inputs=frozenset(doc.inputs), result_fields=result_fields
        )
        problems.extend(template_problems(doc.analyze.instruction, everything, "analyze.instruction"))
    return problems


def input_problems(doc: WorkflowDocument, inputs: Mapping[str, Any]) -> list[str]:
    """Inputs a caller passes that the workflow does not declare (most likely a misspelling)."""
    declared = ", ".join(sorted(doc.inputs)) or "none"
    return [f'unknown input "{name}"; the workflow takes: {declared}' for name in inputs if name not in doc.inputs]


def _duplicate_ids(placed: list[PlacedStep]) -> list[str]:
    first: dict[str, PlacedStep] = {}
    problems: list[str] = []
    for item in placed:
        earlier = first.setdefault(item.step.id, item)
        if earlier is not item:
            problems.append(f"{item.describe()}: duplicate id; {earlier.label} has it too")
    return problems


def _chain_positions(placed: list[PlacedStep]) -> list[tuple[int, int]]:
    """For each step: which chain (a step and its fallbacks) it is in, and how deep."""
    positions: list[tuple[int, int]] = []
    chain, depth = -1, 0
    for item in placed:
        if item.parent is None:
            chain, depth = chain + 1, 0
        else:
            depth += 1
        positions.append((chain, depth))
    return positions


def _scope(
    position: int,
    placed: list[PlacedStep],
    chains: list[tuple[int, int]],
    inputs: frozenset[str],
    result_fields: Mapping[str, frozenset[str]],
) -> ReferenceScope:
    me = placed[position]
    my_chain, my_depth = chains[position]
    finished: set[str] = set()
    concurrent: set[str] = set()
    later: set[str] = set()
    for other, (chain, depth) in zip(placed, chains, strict=True):
        if other is me:
            continue
        if chain == my_chain:
            # A fallback runs after the step it stands in for failed, and may read its error.
            (finished if depth < my_depth else later).add(other.step.id)
        elif other.index < me.index:
            finished.add(other.step.id)
        elif other.index == me.index:
            concurrent.add(other.step.id)
        else:
            later.add(other.step.id)
    return ReferenceScope(
        finished=frozenset(finished),
        concurrent=frozenset(concurrent - finished),
        later=frozenset(later - finished - concurrent),
        this=me.step.id,
        inputs=inputs,
        result_fields=result_fields,
    )


def _result_fields(placed: list[PlacedStep], catalog: Mapping[tuple[str, str], ToolSpec]) -> dict[str, frozenset[str]]:
    """Top-level result fields per step id, where the output schemas are closed objects.

    A step with a fallback may hold either tool's result, so a field of either is accepted.
    """
    fields: dict[str, frozenset[str]] = {}
    for item in placed:
        known = _output_fields(item.step, catalog)
        fallback = item.step.fallback
        if fallback is not None:
            other = _output_fields(fallback, catalog)
            known = known | other if known is not None and other is not None else None
        if known is not None:
            fields[item.step.id] = known
    return fields


def _output_fields(step: Step, catalog: Mapping[tuple[str, str], ToolSpec]) -> frozenset[str] | None:
    tool = catalog.get((step.tool.server, step.tool.name))
    schema = tool.output_schema if tool is not None else None
    if not schema or schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        return None
    if schema.get("additionalProperties") not in (None, False):
        return None
    return frozenset(schema["properties"])


def _step_problems(
    item: PlacedStep,
    scope: ReferenceScope,
    catalog: Mapping[tuple[str, str], ToolSpec],
    unavailable: frozenset[str],
) -> list[str]:
    step = item.step
    problems: list[str] = []
    tool = catalog.get((step.tool.server, step.tool.name))
    if tool is None and step.tool.server not in unavailable:
        problems.append(_unknown_tool(step, catalog))
    if tool is not None and not tool.available and step.on_error == "fail":
        # Refused now, not after an approval; a step whose failure the workflow handles fails at run time instead.
        problems.append(tool.unavailable_message())
    problems.extend(_bounds_problems(step))
    if step.when is not None:
        if item.parent is not None:
            problems.append("when: a fallback runs when its step fails; it cannot have a condition")
        problems.extend(f"when: {problem}" for problem in reference_problems(condition_expression(step.when), scope))
    if item.parent is not None and step.fallback is not None:
        problems.append('on_error: a fallback cannot have a fallback of its own; use "fail" or "continue"')
    problems.extend(template_problems(step.arguments, scope, "arguments"))
    if tool is not None:
        problems.extend(_argument_problems(step.arguments, tool))
    return problems


def _unknown_tool(step: Step, catalog: Mapping[tuple[str, str], ToolSpec]) -> str:
    servers = sorted({server for server, _ in catalog})
    if step.tool.server not in servers:
        return f'unknown server "{step.tool.server}"; servers: {", ".join(servers) or "none"}'
    names = sorted(name for server, name in catalog if server == step.tool.server)
    return f"unknown tool {step.tool}; {step.tool.server} has: {', '.join(names)}"


def _bounds_problems(step: Step) -> list[str]:
    problems: list[str] = []
    if step.retry is not None:
        if not 1 <= step.retry.attempts <= MAX_ATTEMPTS:
            problems.append(f"retry.attempts must be 1 to {MAX_ATTEMPTS}, got {step.retry.attempts}")
        if not 0 <= step.retry.backoff_seconds <= MAX_BACKOFF_SECONDS:
            problems.append(
                f"retry.backoff_seconds must be 0 to {MAX_BACKOFF_SECONDS:g}, got {step.retry.backoff_seconds:g}"
            )
    if step.timeout_seconds is not None and not 0 < step.timeout_seconds <= MAX_TIMEOUT_SECONDS:
        problems.append(
            f"timeout_seconds must be more than 0 and at most {MAX_TIMEOUT_SECONDS:g}, got {step.timeout_seconds:g}"
        )
    return problems


def _argument_problems(arguments: dict[str, Any], tool: ToolSpec) -> list[str]:
    schema = tool.input_schema
    templated = {key for key, value in arguments.items() if contains_template(value)}
    declared = schema.get("properties")
    properties: dict[str, Any] = declared if isinstance(declared, dict) else {}
    closed = isinstance(declared, dict) and not schema.get("additionalProperties")
    problems: list[str] = []
    if closed:
        # JSON Schema allows unknown keys unless told not to, but here one is almost always a misspelling.
        takes = ", ".join(properties) or "no arguments"
        problems.extend(
            f'arguments.{key}: {tool.server}.{tool.name} has no argument "{key}"; it takes: {takes}'
            for key in arguments
            if key not in properties
        )
    literal = {
        key: value for key, value in arguments.items() if key not in templated and (not closed or key in properties)
    }
    # Templated arguments are only known at run time, but they are there: they satisfy "required".
    checked = {**schema, "required": [name for name in schema.get("required", []) if name not in templated]}
    validator_class = validator_for(schema, default=Draft202012Validator)
    if not _schema_is_valid(json.dumps(schema, sort_keys=True, default=str)):
        return problems  # the server's schema is broken; that is not this workflow's problem
    errors = sorted(validator_class(checked).iter_errors(literal), key=lambda error: list(error.absolute_path))
    for error in errors:
        path = "".join(f".{part}" if isinstance(part, str) else f"[{part}]" for part in error.absolute_path)
        message = error.message if len(error.message) <= _MAX_MESSAGE else error.message[:_MAX_MESSAGE] + "…"
        problems.append(f"arguments{path}: {message}")
    return problems


@functools.lru_cache(maxsize=1024)
def _schema_is_valid(schema_text: str) -> bool:
    """Checking a schema against its meta-schema costs ~0.4 ms; a tool's schema is checked once, not per step.

    Dropping names from ``required`` (as the caller does for templated arguments) cannot make a valid schema
    invalid, so the tool's own schema stands for the checked one.
    """
    schema = json.loads(schema_text)
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError:
        return False
    return True
