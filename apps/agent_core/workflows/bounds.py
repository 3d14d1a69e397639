"""How much work a reference may do: a static bound checked before a run, and the limits its evaluation keeps.

A JMESPath expression can make its output (and the work to build it) grow much faster than its input:
each ``.[@,@][]`` doubles a list, so ``rows[].[@,@][].[@,@][]…`` with 23 of them builds 8 million
elements per row from a few hundred rows. ``growth`` reads the parsed expression and computes, without
any data, how many times over an expression can reproduce what it reads:

- paths, indexes, slices, flattens and literals reproduce at most their input (factor 1);
- a chain (``a.b``, ``a | b``, a projection ``a[*].b`` whose right side runs once per element)
  multiplies the factors of its parts;
- a multi-select (``[x, y]``, ``{k: x, …}``), a function's arguments, a comparison or ``&&``/``||``
  add the factors of their parts (each part may copy the whole input);
- a function given an ``&expression`` runs it per element: the factors multiply.

Validation refuses a reference whose factor exceeds ``MAX_GROWTH`` (``references.reference_problems``).
The factor is an upper bound per expression; data-dependent cost (a wide input, many references
in one step) is bounded at run time by ``EvaluationLimits`` (``evaluation.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_GROWTH", "EvaluationLimits", "growth"]

MAX_GROWTH = 64
"""The largest factor a reference may multiply its input by: six nested doublings, or a 64-field multi-select."""

_SATURATED = 2**40
"""Factors are clamped here: a long expression must not build an astronomically large integer."""

_ONE = frozenset({"field", "current", "identity", "literal", "index", "slice"})
_CHAINED = frozenset({"subexpression", "index_expression", "pipe", "projection", "value_projection"})
_FUNCTIONS_WITH_EXPRESSIONS = frozenset({"sort_by", "max_by", "min_by", "map"})


@dataclass(frozen=True)
class EvaluationLimits:
    """What evaluating one step's references (its arguments, or its ``when``) may cost at run time."""

    max_work: int = 250_000
    """Units of work: one per node visited and per element a node copies or a function reads. About a
    quarter of a second of CPU; far more than selecting from a step's result takes. Each unit creates at
    most a few objects, so it also bounds what the garbage collector walks while the loop waits for the
    GIL: at a million units a full collection held the event loop's thread for 70 ms."""
    max_output_bytes: int = 256 * 1024
    """The resolved arguments' size as JSON: they are sent to the tool and journaled with the step (a
    DynamoDB item holds at most 400 KB)."""


def growth(node: dict[str, Any]) -> int:
    """How many times over ``node`` (a parsed JMESPath tree) can reproduce its input, at most."""
    kind = node["type"]
    children: list[dict[str, Any]] = node.get("children", [])
    if kind in _ONE:
        return 1
    if kind in ("flatten", "not_expression", "expref", "key_val_pair"):
        return growth(children[0]) if children else 1
    if kind in _CHAINED:
        return _product(growth(child) for child in children)
    if kind == "filter_projection":
        base, projected, condition = children
        return _product([growth(base), _sum([growth(projected), growth(condition)])])
    if kind == "function_expression" and node.get("value") in _FUNCTIONS_WITH_EXPRESSIONS:
        per_element = _product(growth(child) for child in children if child["type"] == "expref")
        return _product([_sum(growth(child) for child in children if child["type"] != "expref"), per_element])
    # multi-selects, functions, comparators, and/or, and anything newer: each part may copy the input.
    return _sum(growth(child) for child in children)


def _product(factors: Iterable[int]) -> int:
    total = 1
    for factor in factors:
        total = min(total * factor, _SATURATED)
    return total


def _sum(factors: Iterable[int]) -> int:
    return max(1, min(sum(factors), _SATURATED))
