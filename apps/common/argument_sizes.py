"""Refusing an oversized argument before the full schema check looks at every element of it.

``jsonschema`` walks every item of an array, through every ``anyOf`` option, before it can say the array
is too long: 100,000 parameters in a 300 KB body cost the database server two seconds of CPU. The
bounds a schema puts on its top-level arguments (``maxItems``, ``maxLength``, ``maxProperties``) are
checked here first, in constant time per argument; one that is past its bound is the only problem
reported, since the caller must fix it anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_BOUNDS = ((list, "maxItems", "items"), (str, "maxLength", "characters"), (dict, "maxProperties", "properties"))


def size_limits(schema: Mapping[str, Any]) -> dict[str, dict[type, int]]:
    """argument → {python type: the largest size any of its schema's options allows}."""
    limits: dict[str, dict[type, int]] = {}
    for name, subschema in schema.get("properties", {}).items():
        options = subschema.get("anyOf", [subschema]) if isinstance(subschema, Mapping) else []
        for python_type, keyword, _ in _BOUNDS:
            bounds = [option.get(keyword) for option in options if _allows(option, python_type)]
            # One option without the bound, or none of that type at all, and there is nothing to pre-check.
            if bounds and all(isinstance(bound, int) for bound in bounds):
                limits.setdefault(name, {})[python_type] = max(bounds)
    return limits


_JSON_TYPE: dict[type, str] = {list: "array", str: "string", dict: "object"}


def _allows(option: Any, python_type: type) -> bool:
    kind = option.get("type") if isinstance(option, Mapping) else None
    return _JSON_TYPE[python_type] == kind


def oversized(arguments: Mapping[str, Any], limits: Mapping[str, Mapping[type, int]]) -> list[str]:
    problems = []
    for name, value in arguments.items():
        for python_type, _, unit in _BOUNDS:
            limit = limits.get(name, {}).get(python_type)
            if limit is not None and isinstance(value, python_type) and len(value) > limit:
                problems.append(f"{name}: {len(value)} {unit}, at most {limit} allowed")
    return problems
