"""Label selectors, field selectors and limit/continue paging, as the fake Kubernetes API applies them.

Close enough to the API server to exercise a client: label selectors support =, ==, !=, in, notin, exists and !key;
field selectors support =, == and != on any dotted path of the object's JSON form (the real server allows only a
few fields per kind). Continue tokens are opaque to clients, as real ones are.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_SET_REQUIREMENT = re.compile(r"^([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQUALITY = re.compile(r"^([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)$")
_KEY = re.compile(r"^(!?)\s*([A-Za-z0-9_./-]+)$")


class SelectorError(ValueError):
    """The selector cannot be parsed; the API server answers 400 BadRequest."""


def label_selector(text: str) -> Predicate:
    requirements = [_label_requirement(part.strip()) for part in _split_top_level(text) if part.strip()]
    return lambda obj: all(requirement(_labels(obj)) for requirement in requirements)


def field_selector(text: str) -> Predicate:
    requirements: list[tuple[str, bool, str]] = []
    for part in (part.strip() for part in text.split(",") if part.strip()):
        negate = "!=" in part
        path, separator, value = part.partition("!=" if negate else "=")
        if not separator or not path:
            raise SelectorError(f'invalid selector: "{text}"; can\'t understand "{part}"')
        requirements.append((path.strip(), negate, value.removeprefix("=").strip()))

    def matches(obj: Mapping[str, Any]) -> bool:
        return all((_lookup(obj, path) == value) != negate for path, negate, value in requirements)

    return matches


def encode_continue(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_continue(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError):
        raise SelectorError("continue key is not valid: incorrect encoded start resourceVersion") from None
    if not isinstance(offset, int) or offset < 0:
        raise SelectorError("continue key is not valid")
    return offset


def _label_requirement(part: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET_REQUIREMENT.match(part):
        key, operator, values_text = match.groups()
        values = {value.strip() for value in values_text.split(",") if value.strip()}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQUALITY.match(part):
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _KEY.match(part):
        negate, key = match.groups()
        return lambda labels: (key in labels) != bool(negate)
    raise SelectorError(f"unable to parse requirement: {part!r}")


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses: 'env in (a,b),app=web' has two requirements."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _lookup(obj: Mapping[str, Any], path: str) -> str:
    value: Any = obj
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)
