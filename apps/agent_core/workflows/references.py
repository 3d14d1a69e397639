"""Templates in step arguments, and ``when`` conditions: JMESPath over what earlier steps returned.

The context an expression sees::

    {"steps": {"<id>": {"result": ..., "status": "succeeded", "error": null}, ...},
     "inputs": {"<name>": ...}}

- A string that is exactly one ``"{{ expr }}"`` becomes the expression's value with its JSON type
  (a list stays a list, a number a number, a missing value ``null``).
- A string with ``{{ expr }}`` among other text is text: each value is interpolated (strings as they
  are, ``null`` as nothing, anything else as compact JSON).
- A ``when`` is a bare expression (``"{{ … }}"`` around it is tolerated); JMESPath's truthiness
  decides: ``null``, ``false``, ``""``, ``[]`` and ``{}`` are false, everything else (``0`` too) is true.

Expressions cannot contain ``}}``; write ``} }`` inside one. References are checked before anything
runs (``reference_problems``): the expression must compile, call known functions with the right
number of arguments, read only ``inputs.<declared name>`` or ``steps.<id>`` of a step that has
finished by then, and not multiply what it reads more than ``bounds.MAX_GROWTH`` times.

Evaluation is bounded (``evaluation.py``): one step's references share a budget of work and output
(``EvaluationLimits``), and the engine runs them off the event loop (``resolve_bounded``,
``when_holds_bounded``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import jmespath
import jmespath.functions
from jmespath.exceptions import JMESPathError, JMESPathTypeError
from jmespath.parser import ParsedResult

from apps.agent_core.workflows.bounds import MAX_GROWTH, EvaluationLimits, growth
from apps.agent_core.workflows.evaluation import Evaluation, EvaluationBounded, json_size, off_loop

__all__ = [
    "STEP_FIELDS",
    "ExpressionError",
    "ReferenceScope",
    "compile_expression",
    "condition_expression",
    "contains_template",
    "evaluate",
    "is_truthy",
    "reference_problems",
    "resolve",
    "resolve_bounded",
    "root_paths",
    "template_problems",
    "when_holds",
    "when_holds_bounded",
]

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
STEP_FIELDS = ("result", "status", "error")
_FUNCTIONS: dict[str, Any] = jmespath.functions.Functions().FUNCTION_TABLE


class ExpressionError(ValueError):
    """An expression that does not compile, failed on the data it met (e.g. ``length(null)``), or went past
    the bounds of its evaluation."""


@functools.lru_cache(maxsize=1024)
def compile_expression(expression: str) -> ParsedResult:
    try:
        return jmespath.compile(expression.strip())
    except JMESPathError as exc:
        raise ExpressionError(f"invalid JMESPath {_clip(expression)}: {_first_line(exc)}") from None
    except RecursionError:  # the parser recurses per level of nesting: "((((…" must not crash validation
        raise ExpressionError(f"invalid JMESPath {_clip(expression)}: nested too deeply") from None


def evaluate(expression: str, context: Mapping[str, Any], evaluation: Evaluation | None = None) -> Any:
    """The expression's value, within ``evaluation``'s budget (a fresh one with the default limits if none)."""
    evaluation = evaluation or Evaluation(EvaluationLimits())
    try:
        parsed = cast(dict[str, Any], compile_expression(expression).parsed)
        return evaluation.interpreter().visit(parsed, context)
    except JMESPathTypeError as exc:
        raise ExpressionError(f"{_clip(expression)}: {_type_error(exc)}") from None
    except JMESPathError as exc:
        raise ExpressionError(f"{_clip(expression)}: {_first_line(exc)}") from None
    except EvaluationBounded as exc:
        raise ExpressionError(f"{_clip(expression)} {exc}") from None
    except RecursionError:  # data nested deeper than the interpreter can follow
        raise ExpressionError(f"{_clip(expression)}: the data is nested too deeply") from None


def _type_error(exc: JMESPathTypeError) -> str:
    # jmespath's own message prints the whole value, which may be huge; only a small one is shown.
    value = exc.current_value
    shown = f" {_as_text(value)}" if json_size(value, 100) <= 100 else ""
    return f"{exc.function_name}() got a {exc.actual_type}{shown}, expected one of: {', '.join(exc.expected_types)}"


def _clip(expression: str) -> str:
    text = expression.strip()
    return repr(text if len(text) <= 200 else text[:200] + "…")


def _first_line(exc: Exception) -> str:
    # jmespath's messages draw the expression and a caret on the lines after; the first says what is wrong.
    return str(exc).splitlines()[0].removesuffix(", for expression:")


def is_truthy(value: Any) -> bool:
    # JMESPath's rule, not Python's: 0 and 0.0 are true.
    return not (value is None or value is False or value in ("", [], {}))


def condition_expression(when: str) -> str:
    whole = _whole_placeholder(when)
    return whole if whole is not None else when


def when_holds(when: str, context: Mapping[str, Any], evaluation: Evaluation | None = None) -> bool:
    return is_truthy(evaluate(condition_expression(when), context, evaluation))


def contains_template(value: Any) -> bool:
    return any("{{" in text for _, text in _strings(value, ""))


def resolve(value: Any, context: Mapping[str, Any], evaluation: Evaluation | None = None, where: str = "") -> Any:
    """``value`` with every template replaced; raises ``ExpressionError`` naming where one failed.

    Every template's value counts towards ``evaluation``'s output bound before it is placed, so text
    built from many large values is refused before it is built.
    """
    evaluation = evaluation or Evaluation(EvaluationLimits())
    if isinstance(value, str):
        try:
            return _resolve_text(value, context, evaluation)
        except ExpressionError as exc:
            raise ExpressionError(f"{where}: {exc}" if where else str(exc)) from None
    if isinstance(value, dict):
        return {
            key: resolve(item, context, evaluation, f"{where}.{key}" if where else str(key))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [resolve(item, context, evaluation, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def _resolve_text(text: str, context: Mapping[str, Any], evaluation: Evaluation) -> Any:
    whole = _whole_placeholder(text)
    if whole is not None:
        return _counted(whole, evaluate(whole, context, evaluation), evaluation)
    return PLACEHOLDER.sub(
        lambda match: _as_text(_counted(match.group(1), evaluate(match.group(1), context, evaluation), evaluation)),
        text,
    )


def _counted(expression: str, value: Any, evaluation: Evaluation) -> Any:
    try:
        evaluation.add_output(value)
    except EvaluationBounded as exc:
        raise ExpressionError(f"{_clip(expression)} {exc}") from None
    return value


async def resolve_bounded(value: Any, context: Mapping[str, Any], limits: EvaluationLimits, where: str = "") -> Any:
    """``resolve`` within ``limits``, in a worker thread: the event loop is free while it runs."""
    snapshot = _snapshot(context)
    return await off_loop(lambda evaluation: resolve(value, snapshot, evaluation, where), limits)


async def when_holds_bounded(when: str, context: Mapping[str, Any], limits: EvaluationLimits) -> bool:
    snapshot = _snapshot(context)
    try:
        return await off_loop(lambda evaluation: when_holds(when, snapshot, evaluation), limits)
    except ExpressionError as exc:
        raise ExpressionError(f"when: {exc}") from None


def _snapshot(context: Mapping[str, Any]) -> dict[str, Any]:
    # Members of a parallel group record their results while another member's references are evaluated
    # in a thread: the thread reads a copy of the top two levels, which no one changes.
    return {key: dict(part) if isinstance(part, dict) else part for key, part in context.items()}


def _whole_placeholder(text: str) -> str | None:
    matches = list(PLACEHOLDER.finditer(text))
    if len(matches) == 1 and matches[0].span() == (0, len(text)):
        return matches[0].group(1)
    return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` with its path (``sql``, ``params[0]``, ``value.city``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


# --- what an expression reads -------------------------------------------------------------------------

# Nodes whose first child is evaluated against the node's input and the rest against what that child
# produced: only the first child can read the context's root.
_CHAINS = frozenset(
    {"subexpression", "index_expression", "pipe", "projection", "value_projection", "filter_projection", "flatten"}
)


def root_paths(expression: str) -> list[tuple[str, ...]]:
    """The field paths an expression reads from the context's root, as far as they are static.

    ``steps.a.result.items[0].name`` reads ``("steps", "a", "result", "items")``; ``length(inputs.xs)``
    reads ``("inputs", "xs")``; ``@`` reads ``()`` (everything). Fields inside projections and filters
    read elements, not the root, and are not listed.
    """
    # The parsed tree is plain dicts; the stubs' TypedDict is narrower than what the walk needs.
    return [tuple(path) for path in _reads(cast(dict[str, Any], compile_expression(expression).parsed))]


def _reads(node: dict[str, Any]) -> list[list[str]]:
    kind = node["type"]
    children: list[dict[str, Any]] = node.get("children", [])
    if kind == "field":
        return [[node["value"]]]
    if kind in ("current", "identity"):
        return [[]]
    if kind in ("literal", "index", "slice", "expref"):
        return []
    if kind in _CHAINS:
        return _chain_reads(kind, children)
    return [path for child in children for path in _reads(child)]


def _chain_reads(kind: str, children: list[dict[str, Any]]) -> list[list[str]]:
    rest = list(children)
    while kind == "subexpression" and len(rest) > 1 and rest[0]["type"] in ("current", "identity"):
        rest.pop(0)  # "@.steps.a" reads what "steps.a" reads
    reads = _reads(rest[0])
    if kind != "subexpression" or rest[0]["type"] != "field":
        return reads
    path = reads[0]
    for child in rest[1:]:
        if child["type"] == "field":
            path.append(child["value"])
            continue
        if child["type"] in _CHAINS:  # "items[0]": its leading field still names where we are
            leading = _reads(child["children"][0])
            if child["children"][0]["type"] == "field":
                path.extend(leading[0])
        break
    return [path]


def _function_problems(node: dict[str, Any]) -> Iterator[str]:
    if node["type"] == "function_expression":
        name = node["value"]
        entry = _FUNCTIONS.get(name)
        if entry is None:
            yield f"unknown function {name}()"
        else:
            signature = entry["signature"]
            required = sum(1 for parameter in signature if not parameter.get("variadic"))
            variadic = any(parameter.get("variadic") for parameter in signature)
            given = len(node["children"])
            if given < required or (not variadic and given > required):
                plural = "" if required == 1 and not variadic else "s"
                yield f"{name}() takes {required}{' or more' if variadic else ''} argument{plural}, got {given}"
    for child in node.get("children", []):
        yield from _function_problems(child)


# --- checking references before anything runs ---------------------------------------------------------


@dataclass(frozen=True)
class ReferenceScope:
    """What one step, condition or analyze instruction may read."""

    finished: frozenset[str]
    """Steps that have finished before this runs (a fallback's own step included)."""
    concurrent: frozenset[str] = frozenset()
    """Steps of the same parallel group: they run at the same time, so they cannot be read."""
    later: frozenset[str] = frozenset()
    this: str | None = None
    inputs: frozenset[str] = frozenset()
    result_fields: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Top-level fields of a step's result, where its tools' output schemas say so."""


def reference_problems(expression: str, scope: ReferenceScope) -> list[str]:
    try:
        parsed = compile_expression(expression)
    except ExpressionError as exc:
        return [str(exc)]
    problems = list(_function_problems(cast(dict[str, Any], parsed.parsed)))
    problems.extend(_growth_problems(expression, cast(dict[str, Any], parsed.parsed)))
    for path in root_paths(expression):
        problem = _path_problem(path, scope)
        if problem is not None and problem not in problems:
            problems.append(problem)
    return problems


def _growth_problems(expression: str, parsed: dict[str, Any]) -> list[str]:
    try:
        factor = growth(parsed)
    except RecursionError:
        return [f"{_clip(expression)} is nested too deeply to bound"]
    if factor <= MAX_GROWTH:
        return []
    return [
        f"{_clip(expression)} can multiply what it reads up to {factor:,} times (each nested projection or "
        f"flatten multiplies, each multi-select adds); the limit is {MAX_GROWTH}: select what the step needs instead"
    ]


def _path_problem(path: tuple[str, ...], scope: ReferenceScope) -> str | None:
    if not path:
        return None
    if path[0] == "inputs":
        if len(path) > 1 and path[1] not in scope.inputs:
            declared = ", ".join(sorted(scope.inputs)) or "none"
            return f'input "{path[1]}" is not declared in inputs (declared: {declared})'
        return None
    if path[0] != "steps":
        return f'"{path[0]}" is not in the context: start with steps.<id> or inputs.<name>'
    if len(path) < 2:
        return None
    step = path[1]
    if step == scope.this:
        return f'step "{step}" references itself'
    if step in scope.concurrent:
        return f'step "{step}" runs at the same time, in the same parallel group, so its result is not there yet'
    if step in scope.later:
        return f'step "{step}" runs after this one'
    if step not in scope.finished:
        return f'step "{step}" does not exist'
    if len(path) > 2 and path[2] not in STEP_FIELDS:
        return f'steps.{step} has {", ".join(STEP_FIELDS)}, not "{path[2]}"'
    fields = scope.result_fields.get(step)
    if len(path) > 3 and path[2] == "result" and fields is not None and path[3] not in fields:
        return f'the result of step "{step}" has no field "{path[3]}"; it has: {", ".join(sorted(fields))}'
    return None


def template_problems(value: Any, scope: ReferenceScope, where: str) -> list[str]:
    """Every problem with the templates inside ``value`` (arguments or text), each prefixed by its path."""
    problems: list[str] = []
    for path, text in _strings(value, where):
        prefix = f"{path}: " if path else ""
        for match in PLACEHOLDER.finditer(text):
            problems.extend(f"{prefix}{problem}" for problem in reference_problems(match.group(1), scope))
        if "{{" in PLACEHOLDER.sub("", text):
            problems.append(f"{prefix}'{{{{' without a matching '}}}}'")
    return problems
