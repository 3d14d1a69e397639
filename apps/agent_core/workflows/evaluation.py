"""Evaluating references with a bound on their work and output, off the event loop.

jmespath's own interpreter has no bound: ``rows[].[@,@][]…`` doubles its work per level, and values
built from shared references (``@ | [@,@] | [@,@] …``) are small in memory but exponential to
serialise, compare or print. ``BoundedInterpreter`` is jmespath's ``TreeInterpreter`` that charges
every node it visits, every element a node copies and, before a function or a comparison runs, the
size of what it is given (walked as the tree that serialising it would walk). ``Evaluation`` holds the
budget (``EvaluationLimits``) for one step's references; past it the evaluation raises
``EvaluationBounded`` — the budget stops the evaluation itself, because a thread cannot be killed.

``resolve_bounded`` and ``when_holds_bounded`` run it in a worker thread, so the event loop keeps
serving requests and lease heartbeats meanwhile; cancelling them (the run was cancelled, or lost its
lease) stops the thread at its next unit of work. The worker gives up the GIL every few thousand units
so the loop is never kept waiting for long.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import anyio.to_thread
from jmespath import functions as jmespath_functions
from jmespath import visitor

from apps.agent_core.workflows.bounds import EvaluationLimits

__all__ = ["BoundedInterpreter", "Evaluation", "EvaluationBounded", "EvaluationStopped", "json_size", "off_loop"]

_YIELD_EVERY = 1024
"""Units of work between GIL releases: a few milliseconds at most of holding the event loop's thread back."""

_EQUALITY = frozenset({"eq", "ne"})

T = TypeVar("T")


class EvaluationBounded(ValueError):
    """The evaluation needed more work or produced more output than its limits; the message says which."""


class EvaluationStopped(Exception):
    """The evaluation was stopped from outside (its run was cancelled or let go)."""


class Evaluation:
    """The budget of one step's references: work done and output produced so far."""

    def __init__(self, limits: EvaluationLimits, stop: threading.Event | None = None) -> None:
        self.limits = limits
        self.stop = stop or threading.Event()
        self.work = 0
        self.output_bytes = 0
        self._next_yield = _YIELD_EVERY

    def spend(self, units: int) -> None:
        self.work += units
        if self.work > self.limits.max_work:
            raise EvaluationBounded(f"needs more than {self.limits.max_work:,} units of work (the bound on one step)")
        if self.work >= self._next_yield:
            self._next_yield = self.work + _YIELD_EVERY
            if self.stop.is_set():
                raise EvaluationStopped
            time.sleep(0)  # let the event loop's thread take the GIL

    def charge_tree(self, value: Any) -> None:
        """Charge one unit per node of ``value`` as a tree: what serialising or comparing it walks."""
        stack = [value]
        while stack:
            item = stack.pop()
            self.spend(1)
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)

    def add_output(self, value: Any) -> int:
        """Count ``value`` towards the output bound; returns its size as JSON (bytes, approximately)."""
        size = json_size(value, self.limits.max_output_bytes - self.output_bytes, self)
        self.output_bytes += size
        if self.output_bytes > self.limits.max_output_bytes:
            raise EvaluationBounded(
                f"resolves to more than {self.limits.max_output_bytes:,} bytes (the bound on one step's arguments)"
            )
        return size

    def interpreter(self) -> BoundedInterpreter:
        return BoundedInterpreter(self)


def json_size(value: Any, limit: int, evaluation: Evaluation | None = None) -> int:
    """``value``'s size as compact JSON, counted without serialising it; stops counting once past ``limit``."""
    size = 0
    stack = [value]
    while stack and size <= limit:
        item = stack.pop()
        if evaluation is not None:
            evaluation.spend(1)
        if isinstance(item, str):
            size += len(item.encode("utf-8", "surrogatepass")) + 2
        elif isinstance(item, dict):
            size += 2 + len(item)
            for key, member in item.items():
                size += len(str(key)) + 3
                stack.append(member)
        elif isinstance(item, list):
            size += 2 + len(item)
            stack.extend(item)
        elif item is None or isinstance(item, bool):
            size += 5
        elif isinstance(item, int | float):
            size += len(repr(item))
        else:
            size += len(str(item))
    return size


class _BoundedFunctions(jmespath_functions.Functions):
    """jmespath's functions, each charged the size of its arguments before it runs."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__()
        self.evaluation = evaluation

    def call_function(self, function_name: str, resolved_args: Iterable[Any]) -> Any:
        resolved_args = list(resolved_args)
        for argument in resolved_args:
            self.evaluation.charge_tree(argument)
        return super().call_function(function_name, resolved_args)


class BoundedInterpreter(visitor.TreeInterpreter):
    """jmespath's interpreter, charging its ``Evaluation`` for every node and every element it copies."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__(visitor.Options(custom_functions=_BoundedFunctions(evaluation)))
        self.evaluation = evaluation

    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        self.evaluation.spend(1)
        return super().visit(node, *args, **kwargs)

    def visit_flatten(self, node: Any, value: Any) -> Any:
        merged = super().visit_flatten(node, value)
        if isinstance(merged, list):
            self.evaluation.spend(len(merged))
        return merged

    def visit_slice(self, node: Any, value: Any) -> Any:
        sliced = super().visit_slice(node, value)
        if isinstance(sliced, list):
            self.evaluation.spend(len(sliced))
        return sliced

    def visit_comparator(self, node: Any, value: Any) -> Any:
        if node["value"] not in _EQUALITY:
            return super().visit_comparator(node, value)  # ordering: numbers and strings only, cheap
        # == and != walk both sides in full: what they are is charged before Python compares them.
        left = self.visit(node["children"][0], value)
        right = self.visit(node["children"][1], value)
        self.evaluation.charge_tree(left)
        self.evaluation.charge_tree(right)
        return self.COMPARATOR_FUNC[node["value"]](left, right)


async def off_loop(work: Callable[[Evaluation], T], limits: EvaluationLimits) -> T:
    """Run ``work`` with a fresh ``Evaluation`` in a worker thread; cancelling this stops it at its next unit."""
    evaluation = Evaluation(limits)
    try:
        return await anyio.to_thread.run_sync(functools.partial(work, evaluation), abandon_on_cancel=True)
    finally:
        evaluation.stop.set()
