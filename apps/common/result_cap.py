"""Cutting a tool result that is too large into a valid, smaller one that says what was left out.

A model's context is small and precious: a tool that lists a large cluster or a big table must not
hand it megabytes. Rather than failing, the kit keeps the result's shape (so it still matches the
tool's output schema), cuts its large lists and strings until it fits, marks it ``truncated: true``,
and adds a note telling the model how much is missing and how to narrow the call.

The work is proportional to the result, never a multiple of it: every value is measured once (its
size as compact UTF-8 JSON, remembered per container), then one pass from the top hands each part a
share of the budget. Objects keep every key (small fields whole, the large ones share what is left),
lists keep a head of whole items (cutting inside the first item only when not even one fits), strings
keep a head. Long strings are measured in slices, so no single step holds the interpreter (and with it
a server's event loop, when this runs in a worker thread) for long: see ``estimated_size`` and
``OFF_LOOP_BYTES`` for when the kit moves the work off the loop.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = ["MAX_ESTIMATED_ITEMS", "OFF_LOOP_BYTES", "cap_result", "estimated_size", "json_size"]

OFF_LOOP_BYTES = 256 * 1024
"""A result estimated above this is converted, measured and cut in a worker thread, not on the event loop."""
MAX_ESTIMATED_ITEMS = 4096
"""``estimated_size`` calls a value with more items than this large without reading further."""
_SCALARS = (bool, int, float)
_SCALAR_TYPES = frozenset({bool, int, float, type(None)})

_SHORTEST_CUT_STRING = 64
_SLICE = 64 * 1024  # characters encoded per step when measuring a long string
_REMEMBERED_STRING = 1024  # strings this long are measured once and remembered, like containers
_MAX_NOTED_CUTS = 10
_MAX_PASSES = 4  # a pass that lands over the cap (escapes weigh twice in the text copy) is redone, smaller

# Made once: json.dumps with any non-default option builds a new encoder on every call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def _utf8_len(text: str) -> int:
    # surrogatepass: a lone surrogate is measured (3 bytes), not a crash; the SDK's serializer decides its fate.
    return len(text.encode("utf-8", "surrogatepass"))


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON, in one C call: for values known to be small."""
    return _utf8_len(_COMPACT.encode(value))


def estimated_size(value: Any, limit: int = OFF_LOOP_BYTES) -> int:
    """A cheap lower bound of ``value``'s size as JSON, or more than ``limit`` when the value is large.

    Counts characters of strings and keys and a byte or two per item, walking pydantic models and plain
    containers without encoding anything, and stops as soon as the count passes ``limit`` or the walk
    passes ``MAX_ESTIMATED_ITEMS`` items (then it answers ``limit + 1``: a value that size is worth a thread
    hop whatever its bytes). Anything else (an object only the SDK knows how to convert) counts as over the
    limit too. So the cost is bounded, and for a typical result of a few dozen rows it is tens of microseconds.
    """
    total = 0
    items = 0
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        # Each count is at most what JSON writes: quotes, brackets, a colon and a comma per member, a byte per number.
        if isinstance(item, str):
            total += len(item) + 2
            continue
        if isinstance(item, _SCALARS) or item is None:
            total += 1
            continue
        if isinstance(item, dict):
            children: Collection[Any] = item.values()
            total += 1 + sum(len(str(key)) + 4 for key in item) if item else 2
        elif isinstance(item, list | tuple):
            children = item
            total += 1 + len(item) if item else 2
        elif isinstance(item, BaseModel):
            fields = {**vars(item), **(item.__pydantic_extra__ or {})}
            children = fields.values()
            total += 1 + sum(len(name) + 4 for name in fields) if fields else 2
        elif isinstance(item, bytes | bytearray):
            total += len(item) * 4 // 3 + 2  # base64 on the wire
            continue
        else:
            return limit + 1
        items += len(children)
        if total > limit or items > MAX_ESTIMATED_ITEMS:
            return max(total, limit + 1)
        for child in children:  # strings and numbers counted here: most of a result, without a trip through pending
            kind = type(child)
            if kind is str:
                total += len(child) + 2
            elif kind in _SCALAR_TYPES:
                total += 1
            else:
                pending.append(child)
        if total > limit:
            return total
    return total


class _Sizes:
    """Each value's size as compact UTF-8 JSON, each container measured once and remembered."""

    def __init__(self) -> None:
        self._containers: dict[int, int] = {}
        self._keep: list[Any] = []  # keeps measured containers alive, so their ids are not reused

    def of(self, value: Any) -> int:
        if isinstance(value, str) and len(value) < _REMEMBERED_STRING:
            return _string_size(value)
        if isinstance(value, dict | list | str):
            known = self._containers.get(id(value))
            if known is None:
                known = self._container(value)
                self._containers[id(value)] = known
                self._keep.append(value)
            return known
        return json_size(value)

    def _container(self, value: dict[str, Any] | list[Any] | str) -> int:
        if isinstance(value, str):
            return _string_size(value)
        if isinstance(value, dict):
            parts = [_string_size(str(key)) + 1 + self.of(child) for key, child in value.items()]
        else:
            parts = [self.of(child) for child in value]
        return 2 + sum(parts) + max(0, len(parts) - 1)


def _string_size(text: str) -> int:
    if len(text) <= _SLICE:
        return _utf8_len(_COMPACT.encode(text))
    # JSON escapes character by character, so slices measure exactly; each step stays short.
    return 2 + sum(_utf8_len(_COMPACT.encode(text[i : i + _SLICE])) - 2 for i in range(0, len(text), _SLICE))


@dataclass
class _Cuts:
    items: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (omitted, original length)
    chars: dict[str, tuple[int, int]] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{omitted} of {total} items of {path}" for path, (omitted, total) in self.items.items()]
        parts += [f"{omitted} of {total} characters of {path}" for path, (omitted, total) in self.chars.items()]
        if len(parts) > _MAX_NOTED_CUTS:  # the note must stay small next to the budget it explains
            parts = [*parts[:_MAX_NOTED_CUTS], f"and parts of {len(parts) - _MAX_NOTED_CUTS} more lists or strings"]
        return ", ".join(parts) or "part of the result"


def _cuttable(value: Any) -> bool:
    return isinstance(value, dict | list) or (isinstance(value, str) and len(value) > _SHORTEST_CUT_STRING)


class _Fitter:
    """One top-down pass: ``fit`` returns a value of at most ``budget`` bytes where it can, and its size."""

    def __init__(self, sizes: _Sizes) -> None:
        self.sizes = sizes
        self.cuts = _Cuts()

    def fit(self, value: Any, budget: int, path: str) -> tuple[Any, int]:
        size = self.sizes.of(value)
        if size <= budget or not _cuttable(value):
            return value, size
        if isinstance(value, str):
            return self._fit_string(value, budget, path)
        if isinstance(value, list):
            return self._fit_list(value, budget, path)
        return self._fit_object(value, budget, path)

    def _fit_string(self, text: str, budget: int, path: str) -> tuple[str, int]:
        size = self.sizes.of(text)
        kept = min(len(text) - 1, max(0, int(len(text) * (budget - 2) / max(size - 2, 1))))
        head = text[:kept]
        head_size = _string_size(head)
        while head_size > budget and kept > 0:  # multi-byte or escaped characters made the estimate short
            kept = max(0, int(kept * budget / head_size) - 1)
            head = text[:kept]
            head_size = _string_size(head)
        omitted, total = self.cuts.chars.get(path, (0, len(text)))
        self.cuts.chars[path] = (omitted + len(text) - kept, total)
        return head, head_size

    def _fit_list(self, items: list[Any], budget: int, path: str) -> tuple[list[Any], int]:
        kept: list[Any] = []
        used = 2
        for index, item in enumerate(items):
            separator = 1 if kept else 0
            item_size = self.sizes.of(item)
            if used + separator + item_size <= budget:
                kept.append(item)
                used += separator + item_size
                continue
            if not kept and _cuttable(item):
                # Not even one item fits: cut inside it, so a single huge text keeps its head instead of vanishing.
                inner, inner_size = self.fit(item, budget - used, f"{path}[{index}]")
                kept.append(inner)
                used += inner_size
            break
        if len(kept) < len(items):
            omitted, total = self.cuts.items.get(path, (0, len(items)))
            self.cuts.items[path] = (omitted + len(items) - len(kept), total)
        return kept, used

    def _fit_object(self, value: dict[str, Any], budget: int, path: str) -> tuple[dict[str, Any], int]:
        # Every key stays (the output schema may require it). Smallest first: each field gets an equal share of
        # what is left, so small fields stay whole and the large ones divide the rest.
        overhead = 2 + max(0, len(value) - 1) + sum(_string_size(str(key)) + 1 for key in value)
        left = budget - overhead
        by_size = sorted(value, key=lambda key: self.sizes.of(value[key]))
        fitted: dict[str, Any] = {}
        for position, key in enumerate(by_size):
            share = left // (len(by_size) - position)
            child_path = f"{path}.{key}" if path else str(key)
            fitted[key], child_size = self.fit(value[key], share, child_path)
            left -= child_size
        return {key: fitted[key] for key in value}, budget - left


def _texts(blocks: Iterable[Any]) -> str:
    return "\n".join(block.get("text", "") for block in blocks if isinstance(block, dict))


def cap_result(
    result: dict[str, Any], max_bytes: int, tool: str, *, small: bool = False
) -> tuple[dict[str, Any], bool]:
    """Return ``result`` unchanged if it fits in ``max_bytes``, else a smaller valid result; and whether it was cut.

    ``small``: the caller knows the result is small (``OFF_LOOP_BYTES`` or so), so one C call measures it
    faster than the walk, which a large result needs so that no single call holds the interpreter for long.
    """
    sizes = _Sizes()
    try:
        if (json_size(result) if small else sizes.of(result)) <= max_bytes:
            return result, False
        structured = result.get("structuredContent")
        if isinstance(structured, dict):
            # Structured content travels twice (as data and as its JSON text), so each copy gets about half.
            value, budget = structured, max_bytes // 2 - 512
        else:
            value, budget = {"text": _texts(result.get("content", []))}, max_bytes - 1024
        for _ in range(_MAX_PASSES):
            fitter = _Fitter(sizes)
            trimmed, _ = fitter.fit(value, max(budget, 0), "")
            capped = _capped(result, trimmed if value is structured else None, trimmed, fitter.cuts, max_bytes)
            total = json_size(capped)  # one C call on what is now small: the exact answer
            if total <= max_bytes:
                return capped, True
            # Escaped characters weigh more in the text copy than in the data: shrink in proportion and go again.
            budget = int(budget * max_bytes / total * 0.98)
    except RecursionError:  # nested deeper than the interpreter's stack: nothing sensible to keep
        pass
    note = f"The result of {tool} is too large to return (over {max_bytes} bytes). Narrow the call."
    failed = {key: value for key, value in result.items() if key not in ("content", "structuredContent")}
    return failed | {"content": [{"type": "text", "text": note}], "isError": True}, True


def _capped(
    result: dict[str, Any], structured: Any, trimmed: dict[str, Any], cuts: _Cuts, max_bytes: int
) -> dict[str, Any]:
    if structured is not None:
        structured = {**structured, "truncated": True}
        body = json.dumps(structured, ensure_ascii=False, default=str)
    else:
        body = trimmed["text"]
    note = (
        f"Result cut to fit {max_bytes} bytes: {cuts.describe()} left out. "
        f"Narrow the call (a filter, prefix, namespace or smaller limit) to see the rest."
    )
    capped: dict[str, Any] = {
        key: value for key, value in result.items() if key not in ("content", "structuredContent")
    }
    capped["content"] = [{"type": "text", "text": body}, {"type": "text", "text": note}]
    if structured is not None:
        capped["structuredContent"] = structured
    return capped
