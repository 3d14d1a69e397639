"""Cutting a tool result that is too large into a valid, smaller one that says what was left out.

A model's context is small and precious: a tool that lists a large cluster or a big table must not
hand it megabytes. Rather than failing, the kit keeps the result's shape (so it still matches the
tool's output schema), cuts its largest list or string until it fits, marks it
``truncated: true``, and adds a note telling the model how much is missing and how to narrow the call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_MAX_ROUNDS = 200  # each round shortens one list or string, so this bounds the work on any input
_SHORTEST_CUT_STRING = 64


# Made once: json.dumps with any non-default option builds a new encoder on every call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def json_size(value: Any) -> int:
    return len(_COMPACT.encode(value).encode())


@dataclass
class _Cuts:
    items: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (omitted, original length)
    chars: dict[str, tuple[int, int]] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{omitted} of {total} items of {path}" for path, (omitted, total) in self.items.items()]
        parts += [f"{omitted} of {total} characters of {path}" for path, (omitted, total) in self.chars.items()]
        return ", ".join(parts) or "part of the result"


def _entries(container: Any) -> list[tuple[Any, Any]]:
    return list(container.items()) if isinstance(container, dict) else list(enumerate(container))


def _child_path(path: str, container: Any, key: Any) -> str:
    if isinstance(container, list):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _pick(container: Any, path: str) -> tuple[str, Any, Any] | None:
    """Where to cut next: the largest list or long string, descending into whatever dominates.

    A list dominated by one element is cut inside that element rather than by dropping it, so a
    single huge log text keeps its head instead of vanishing.
    """
    best: tuple[int, Any] | None = None
    for key, child in _entries(container):
        cuttable = (isinstance(child, list) and child) or (isinstance(child, str) and len(child) > _SHORTEST_CUT_STRING)
        if cuttable or isinstance(child, dict):
            size = json_size(child)
            if best is None or size > best[0]:
                best = (size, key)
    if best is None:
        return None
    size, key = best
    child = container[key]
    child_path = _child_path(path, container, key)
    if isinstance(child, dict):
        return _pick(child, child_path)
    if isinstance(child, list):
        biggest = max(child, key=json_size)
        dominated = len(child) == 1 or json_size(biggest) * 2 > size
        if dominated and isinstance(biggest, dict | list | str):
            inner = _pick(child, child_path)
            if inner is not None:
                return inner
    return child_path, container, key


def _shrink(value: dict[str, Any], budget: int, cuts: _Cuts) -> bool:
    for _ in range(_MAX_ROUNDS):
        excess = json_size(value) - budget
        if excess <= 0:
            return True
        target = _pick(value, "")
        if target is None:
            return False
        path, parent, key = target
        node = parent[key]
        # Cut in proportion to the excess (lists of similar items fit in one round), always by at least one.
        keep_fraction = max(0.0, 1 - excess / max(json_size(node), 1)) * 0.98
        kept = min(len(node) - 1, int(len(node) * keep_fraction))
        record = cuts.items if isinstance(node, list) else cuts.chars
        omitted, total = record.get(path, (0, len(node)))
        record[path] = (omitted + len(node) - kept, total)
        parent[key] = node[:kept]
    return json_size(value) <= budget


def cap_result(result: dict[str, Any], max_bytes: int, tool: str) -> tuple[dict[str, Any], bool]:
    """Return ``result`` unchanged if it fits in ``max_bytes``, else a smaller valid result; and whether it was cut."""
    if json_size(result) <= max_bytes:
        return result, False
    cuts = _Cuts()
    structured = result.get("structuredContent")
    if isinstance(structured, dict):
        trimmed = json.loads(json.dumps(structured, default=str))
        # Structured content travels twice (as data and as its JSON text), so each copy gets half.
        fits = _shrink(trimmed, max_bytes // 2 - 512, cuts)
        trimmed["truncated"] = True
        body = json.dumps(trimmed, ensure_ascii=False, default=str)
    else:
        text = "\n".join(block.get("text", "") for block in result.get("content", []) if isinstance(block, dict))
        holder = {"text": text}
        fits = _shrink(holder, max_bytes - 1024, cuts)
        trimmed, body = None, holder["text"]
    if not fits:
        note = f"The result of {tool} is too large to return (over {max_bytes} bytes). Narrow the call."
        failed = {key: value for key, value in result.items() if key not in ("content", "structuredContent")}
        return failed | {"content": [{"type": "text", "text": note}], "isError": True}, True
    note = (
        f"Result cut to fit {max_bytes} bytes: {cuts.describe()} left out. "
        f"Narrow the call (a filter, prefix, namespace or smaller limit) to see the rest."
    )
    capped: dict[str, Any] = {
        key: value for key, value in result.items() if key not in ("content", "structuredContent")
    }
    capped["content"] = [{"type": "text", "text": body}, {"type": "text", "text": note}]
    if trimmed is not None:
        capped["structuredContent"] = trimmed
    return capped, True
