"""Hypothesis strategies for values that match, or break, a tool's JSON Schema.

hypothesis-jsonschema is not a dependency, and the tools' input schemas use a small part of JSON Schema
(what pydantic emits for ``Annotated[..., Field(...)]``): ``type``, ``anyOf``, ``enum``, string length and
``pattern``, numeric bounds, ``items``/``maxItems``, ``properties``/``required``/``patternProperties``/
``maxProperties``, and no ``type`` at all for "any JSON". ``valid_arguments`` covers exactly that and
raises on anything else, so a new schema feature fails loudly here instead of being fuzzed wrongly.

``invalid_arguments`` breaks one thing at a time (a wrong type, a value past a bound, a pattern miss, a
missing required argument, an unknown argument) and says which argument it broke, so a test can check
that the refusal names it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

JSON_TYPES = ("string", "integer", "number", "boolean", "null", "array", "object")
_KNOWN_KEYS = {
    "type",
    "anyOf",
    "enum",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "items",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "patternProperties",
    "maxProperties",
    "additionalProperties",
    "default",
    "description",
    "title",
}
# Strings a careless parser or logger trips on: NUL, lone surrogates' neighbours, RTL and zero-width marks,
# combining characters, emoji outside the BMP, and text that looks like markup or a path.
ODD_TEXT = (
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",
    "\u200b\u200d\ufeff",
    "e\u0301\u0301\u0301",
    "\U0001f4a3\U0001f9e8",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "'; DROP TABLE orders; --",
    "%00%2e%2e%2f",
    "\r\nX-Injected: 1",
)


def any_json(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Any JSON value, nested a little, with odd text among the strings."""
    leaves: st.SearchStrategy[Any] = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from(ODD_TEXT),
    )
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=max_leaves,
    )


def _check_known(schema: dict[str, Any]) -> None:
    unknown = set(schema) - _KNOWN_KEYS
    if unknown:
        raise NotImplementedError(f"json_schema_values does not handle {sorted(unknown)} in {schema}")


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength", 200)
    if "pattern" in schema:
        # Patterns in these schemas are anchored; lengths are checked after, since a regex has no length.
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
    text = st.text(min_size=low, max_size=min(high, 200)) | st.sampled_from(ODD_TEXT).filter(
        lambda s: low <= len(s) <= high
    )
    # Right at the length limit, where off-by-one mistakes live (long limits are left out: slow to draw).
    return text | st.text(min_size=max(low, high - 1), max_size=high) if high <= 1000 else text


def valid_value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values ``schema`` accepts."""
    _check_known(schema)
    if "anyOf" in schema:
        return st.one_of(*(valid_value(option) for option in schema["anyOf"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind is None:
        return any_json()
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = valid_value(schema.get("items", {}))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 10), 10))
    if kind == "object":
        return valid_arguments(schema)
    raise NotImplementedError(f"type {kind!r}")


def valid_arguments(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects ``schema`` accepts: every required property, and any subset of the optional ones."""
    _check_known(schema)
    if "patternProperties" in schema:
        ((pattern, value_schema),) = schema["patternProperties"].items()
        return st.dictionaries(
            st.from_regex(pattern, fullmatch=True),
            valid_value(value_schema),
            max_size=min(schema.get("maxProperties", 5), 5),
        )
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {name: valid_value(sub) for name, sub in properties.items() if name in required},
        optional={name: valid_value(sub) for name, sub in properties.items() if name not in required},
    )


def _accepted_types(schema: dict[str, Any]) -> set[str] | None:
    """The JSON types a property accepts; None when it accepts anything."""
    options = schema.get("anyOf", [schema])
    kinds: set[str] = set()
    for option in options:
        if "enum" in option and "type" not in option:
            kinds |= {type_of(value) for value in option["enum"]}
        elif "type" not in option:
            return None
        else:
            kinds.add(option["type"])
    if "number" in kinds:
        kinds.add("integer")
    return kinds


def type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    for kind, python in (("number", float), ("string", str), ("array", list), ("object", dict)):
        if isinstance(value, python):
            return kind
    raise TypeError(type(value))


_EXAMPLE_OF_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(max_size=10),
    "integer": st.integers(-(2**63), 2**63),
    "number": st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    "boolean": st.booleans(),
    "null": st.none(),
    "array": st.lists(st.integers(), max_size=3),
    "object": st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
}


def _out_of_bounds(schema: dict[str, Any]) -> list[st.SearchStrategy[Any]]:
    """Values of the right type that break one of its bounds (a length, a range, a pattern, an enum)."""
    breakers: list[st.SearchStrategy[Any]] = []
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            if option.get("type") != "null":
                breakers += _out_of_bounds(option)
        return breakers
    kind = schema.get("type")
    if kind == "string":
        if "maxLength" in schema:
            breakers.append(st.just("x" * (schema["maxLength"] + 1)))
        if schema.get("minLength", 0) > 0:
            breakers.append(st.just(""))
        if "pattern" in schema:
            pattern = re.compile(schema["pattern"])
            misses = st.text(min_size=1, max_size=20) | st.sampled_from(ODD_TEXT)
            low, high = schema.get("minLength", 0), schema.get("maxLength", 10**9)
            breakers.append(misses.filter(lambda s: low <= len(s) <= high and not pattern.search(s)))
            # A match plus a final newline: Python's "$" accepts it, the tools' pydantic models do not.
            matches = st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: low <= len(s) < high)
            breakers.append(matches.map(lambda s: s + "\n"))
        if "enum" in schema:
            breakers.append(st.text(max_size=10).filter(lambda s: s not in schema["enum"]))
    elif kind in ("integer", "number"):
        if "maximum" in schema:
            top = math.floor(schema["maximum"])
            breakers.append(st.integers(top + 1, top + 10**12))
        if "minimum" in schema:
            bottom = math.ceil(schema["minimum"])
            breakers.append(st.integers(bottom - 10**12, bottom - 1))
    elif kind == "object" and "patternProperties" in schema:
        # A key the patterns do not allow (pydantic's dict keys are closed; JSON Schema's would be open).
        ((key_pattern, _),) = schema["patternProperties"].items()
        keys = (st.text(max_size=12) | st.sampled_from(ODD_TEXT)).filter(lambda k: not re.search(key_pattern, k))
        breakers.append(st.dictionaries(keys, st.just("x"), min_size=1, max_size=2))
    elif kind == "array" and "maxItems" in schema:
        # A huge array: far past the cap, to show the refusal costs little.
        breakers.append(st.integers(schema["maxItems"] + 1, 20_000).map(lambda n: [0] * n))
    return breakers


@dataclass(frozen=True)
class Broken:
    arguments: dict[str, Any]
    culprit: str
    """The argument the refusal must name."""
    how: str


@st.composite
def invalid_arguments(draw: st.DrawFn, schema: dict[str, Any]) -> Broken:
    """Valid arguments with exactly one thing broken."""
    arguments = dict(draw(valid_arguments(schema)))
    properties: dict[str, Any] = schema.get("properties", {})
    ways: list[str] = ["unknown"]
    if schema.get("required"):
        ways.append("missing")
    breakable = {
        name: sub
        for name, sub in properties.items()
        if _accepted_types(sub) is not None and set(JSON_TYPES) - (_accepted_types(sub) or set())
    }
    if breakable:
        ways.append("wrong_type")
    bounded = {name: _out_of_bounds(sub) for name, sub in properties.items()}
    bounded = {name: breakers for name, breakers in bounded.items() if breakers}
    if bounded:
        ways.append("out_of_bounds")
    how = draw(st.sampled_from(ways))
    if how == "unknown":
        name = draw(st.from_regex(r"[a-z_]{1,20}", fullmatch=True).filter(lambda n: n not in properties))
        arguments[name] = draw(any_json(max_leaves=3))
        return Broken(arguments, name, how)
    if how == "missing":
        name = draw(st.sampled_from(sorted(schema["required"])))
        del arguments[name]
        return Broken(arguments, name, how)
    if how == "wrong_type":
        name = draw(st.sampled_from(sorted(breakable)))
        wrong = sorted(set(JSON_TYPES) - (_accepted_types(breakable[name]) or set()))
        arguments[name] = draw(_EXAMPLE_OF_TYPE[draw(st.sampled_from(wrong))])
        return Broken(arguments, name, how)
    name = draw(st.sampled_from(sorted(bounded)))
    arguments[name] = draw(st.one_of(*bounded[name]))
    return Broken(arguments, name, how)
