"""A quick yes/no check of tool arguments against the JSON Schemas pydantic writes for tool inputs.

``jsonschema`` builds a validator per subschema it descends into: for a typical tool (a bounded string
and an optional list of scalars) a valid call costs ~60 µs, more than the rest of the kit's checks
together. Almost every call is valid, so the guard asks this check first and runs ``jsonschema`` only
when it says no, to list the problems (``jsonschema`` stays the authority on what is wrong).

``compile_check`` understands the keywords pydantic emits for plain parameters (``type``,
``properties``, ``required``, ``additionalProperties: false``, string and number bounds, ``pattern``,
``anyOf``, ``items``, array bounds, string ``enum``; a ``pattern`` must match under both Python's
``re`` and pydantic's engine) and ignores annotations (``title``,
``description``, ``default``, ``examples``, ``format``, which ``jsonschema`` does not check without a
format checker). Any other keyword (``$ref``, ``allOf``, ``const``…) makes it return ``None``: such a
schema is always checked by ``jsonschema``. A check that says yes must mean ``jsonschema`` finds no
error; saying no when in doubt only costs time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import pydantic_core

__all__ = ["Check", "compile_check"]

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "format", "deprecated", "readOnly"})
_OBJECT_KEYWORDS = frozenset({"properties", "required", "additionalProperties"})
_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    # JSON Schema counts 1.0 as an integer, and never a boolean as a number.
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class _Unsupported(Exception):
    pass


def compile_check(schema: Mapping[str, Any]) -> Check | None:
    """A function answering "is this instance valid?", or ``None`` if the schema uses other keywords."""
    try:
        return _compile(schema)
    except (_Unsupported, re.error, KeyError, TypeError, ValueError):
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compile(schema: Any) -> Check:
    if not isinstance(schema, Mapping):
        raise _Unsupported("boolean or malformed schema")
    checks: list[Check] = []
    if _OBJECT_KEYWORDS.intersection(schema):
        checks.append(
            _object_check(
                schema.get("properties", {}), schema.get("required", []), schema.get("additionalProperties", True)
            )
        )
    for keyword, value in schema.items():
        if keyword not in _ANNOTATIONS and keyword not in _OBJECT_KEYWORDS:
            checks.append(_keyword(keyword, value))
    return lambda instance: all(check(instance) for check in checks)


def _keyword(keyword: str, value: Any) -> Check:
    if keyword == "type":
        names = [value] if isinstance(value, str) else list(value)
        type_checks = [_TYPES[name] for name in names]  # KeyError → unsupported below
        return lambda v: any(check(v) for check in type_checks)
    if keyword in ("minLength", "maxLength"):
        bound = int(value)
        if keyword == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= bound
        return lambda v: not isinstance(v, str) or len(v) <= bound
    if keyword == "pattern":
        return _pattern(value)
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if not _is_number(value):
            raise _Unsupported(keyword)
        compare: Callable[[Any], bool] = {
            "minimum": lambda v: v >= value,
            "maximum": lambda v: v <= value,
            "exclusiveMinimum": lambda v: v > value,
            "exclusiveMaximum": lambda v: v < value,
        }[keyword]
        return lambda v: not _is_number(v) or compare(v)
    if keyword in ("minItems", "maxItems"):
        bound = int(value)
        if keyword == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= bound
        return lambda v: not isinstance(v, list) or len(v) <= bound
    if keyword == "items":
        item = _compile(value)
        return lambda v: not isinstance(v, list) or all(item(element) for element in v)
    if keyword == "anyOf":
        if not isinstance(value, list) or not value:
            raise _Unsupported("anyOf malformed")
        options = [_compile(option) for option in value]
        return lambda v: any(option(v) for option in options)
    if keyword == "enum":
        if not all(isinstance(option, str) for option in value):
            raise _Unsupported("enum of other than strings")  # JSON equality of 1, 1.0 and true is subtle
        allowed = frozenset(value)
        return lambda v: isinstance(v, str) and v in allowed
    raise _Unsupported(keyword)


@functools.lru_cache(maxsize=512)
def pattern_engine(pattern: str) -> pydantic_core.SchemaValidator:
    """``pattern`` compiled by pydantic's engine, which the tools' own models use (``$`` does not match
    before a final newline there, unlike Python's ``re``); ``pydantic_core.SchemaError`` if it cannot."""
    return pydantic_core.SchemaValidator(pydantic_core.core_schema.str_schema(pattern=pattern))


def matches_pattern(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern`` as the tools' pydantic models read it."""
    try:
        pattern_engine(pattern).validate_python(text)
    except pydantic_core.ValidationError:
        return False
    return True


def _pattern(pattern: str) -> Check:
    # The argument guard checks patterns with the same engine (tool_calls.ArgumentValidator), so a yes
    # here is a yes there.
    try:
        pattern_engine(pattern)
    except pydantic_core.SchemaError as exc:
        raise _Unsupported("a pattern pydantic cannot compile") from exc
    return lambda v: not isinstance(v, str) or matches_pattern(pattern, v)


def _object_check(properties: Mapping[str, Any], required: list[str], additional: Any) -> Check:
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        raise _Unsupported("properties or required malformed")
    if additional is not True and additional is not False:
        raise _Unsupported("additionalProperties with a schema")
    compiled = {name: _compile(subschema) for name, subschema in properties.items()}
    needed = tuple(required)
    closed = additional is False

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True  # "properties" constrains objects only; "type" says whether it must be one
        if any(name not in v for name in needed):
            return False
        for name, value in v.items():
            sub = compiled.get(name)
            if sub is None:
                if closed:
                    return False
            elif not sub(value):
                return False
        return True

    return check
