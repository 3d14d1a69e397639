"""Filling a tool's arguments from the task's own words, without a language model.

Only what the task states plainly is used, and each piece of text fills at most one argument:

- SQL for ``sql``/``query`` properties: a quoted statement, or one written out in capitals (``SELECT … FROM …``);
- ``<property> <value>`` and, for names and namespaces, ``<value> <property>`` ("namespace shop",
  "deployment web", "key y", "the shop namespace"); for a property called ``name`` the tool's object
  is the keyword (``scale_deployment`` → "deployment web");
- enum values the task mentions, and booleans whose words it contains ("dry run");
- "in/for/at <place>" for location-like properties;
- numbers for numeric properties: next to their keyword, "top/first N" for limits, or the task's
  only remaining number for a required one ("… to 3" → replicas);
- quoted strings, in order, for required text properties still empty.

A value must fit its schema (type, pattern, length, bounds) or it is not used. Required properties
left empty are reported, and the tool is not called.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apps.agent_core.model import ToolSpec
from apps.agent_core.reasoning.planner.text import QUOTED, SQL_START, STOPWORDS
from apps.agent_core.reasoning.planner.text import singular as stem

__all__ = ["ArgumentPlan", "fill_arguments"]

_NUMBER = re.compile(r"(?<![\w.\-])(\d+(?:\.\d+)?)(?!\w)(?!\.\d)")
_BARE_SQL = re.compile(r"\b(?:SELECT|WITH)\b[^;]*?\bFROM\b[^;]*")
_PLACE = re.compile(
    r"\b(?:in|for|at|near)\s+(?:the\s+)?(?!namespace\b)([^\W\d_][^?!;.]*?)\s*"
    r"(?=[?!;.]|$|\b(?:and|then|today|tomorrow|tonight|now|please|this|next|right)\b)",
    re.IGNORECASE,
)
_VALUE = r"""(?:"([^"]+)"|'([^']+)'|([^\s,;?!'"]+))"""
_LOCATION_WORDS = frozenset({"location", "city", "place", "town", "country", "destination"})
_SQL_WORDS = frozenset({"sql", "query", "statement"})
_GENERIC_WORDS = frozenset({"name", "id", "max", "min", "number", "of", "type"})
# Words that say what to do, not what to do it to: never a name ("list pods" names no pod).
_VERBS = frozenset(
    {"list", "get", "show", "describe", "check", "find", "scale", "start", "stop", "run", "restart", "delete"}
    | {"troubleshoot", "debug", "diagnose", "fix", "store", "save", "read", "set", "create", "update"}
)
_PREFIX = re.compile(
    r"\b(?:start(?:s|ing)? with|begin(?:s|ning)? with|prefix(?:ed)?(?: with)?)\s+" + _VALUE, re.IGNORECASE
)
_LIMIT = re.compile(r"\b(?:top|first|last|at most|up to|limit(?:ed)? to|limit)\s+(\d+)\b", re.IGNORECASE)


@dataclass
class ArgumentPlan:
    arguments: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    """Required properties the task does not give, each with its description."""


@dataclass(frozen=True)
class _Property:
    name: str
    schema: dict[str, Any]
    required: bool

    @property
    def types(self) -> set[str]:
        declared = self.schema.get("type")
        if isinstance(declared, str):
            return {declared}
        return {str(t) for t in declared} if isinstance(declared, list) else set()

    @property
    def raw_words(self) -> list[str]:
        return [w for w in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", self.name) if w]

    def accepts_text(self) -> bool:
        return not self.types or "string" in self.types

    def numeric(self) -> bool:
        return bool(self.types & {"integer", "number"})


def _resolve(schema: dict[str, Any], root: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """The property's own schema: ``$ref`` followed, the non-null branch of ``anyOf``/``oneOf`` merged in."""
    if depth > 5:
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        merged = {k: v for k, v in schema.items() if k != "$ref"}
        return _resolve({**target, **merged}, root, depth + 1) if isinstance(target, dict) else merged
    for key in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(key, []) if isinstance(b, dict) and b.get("type") != "null"]
        if branches:
            rest = {k: v for k, v in schema.items() if k != key}
            return {**_resolve(branches[0], root, depth + 1), **rest}
    return schema


class _Task:
    """The task text and which parts of it have already filled an argument."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._claimed: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in self._claimed)

    def claim(self, start: int, end: int) -> None:
        self._claimed.append((start, end))

    def quoted(self) -> list[tuple[int, int, str]]:
        found = []
        for match in QUOTED.finditer(self.text):
            value = next(str(group) for group in match.groups() if group is not None)
            if self.free(match.start(), match.end()):
                found.append((match.start(), match.end(), value))
        return found


def _convert(value: str, prop: _Property) -> Any | None:
    """``value`` as the property's type, or None when it does not fit the schema."""
    value = value.strip().rstrip(".,")
    if not value or value.lower() in STOPWORDS:
        return None
    schema, types = prop.schema, prop.types
    converted: Any = value
    if types and types <= {"integer", "number"}:
        if not re.fullmatch(r"\d+(?:\.\d+)?", value) or ("number" not in types and "." in value):
            return None
        converted = float(value) if "." in value else int(value)
        if ("minimum" in schema and converted < schema["minimum"]) or (
            "maximum" in schema and converted > schema["maximum"]
        ):
            return None
        return converted
    if types and "string" not in types:
        return None
    if not schema.get("minLength", 1) <= len(value) <= schema.get("maxLength", 10_000):
        return None
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if not re.search(pattern, value):
                return None
        except re.error:  # a JSON-Schema dialect Python cannot read: let the server judge
            pass
    return converted


def _keywords(prop: _Property, spec: ToolSpec) -> list[str]:
    """Regexes for the words that introduce this property's value, longest first."""
    raw = [w.lower() for w in prop.raw_words]
    phrases = []
    if prop.name == "name" or raw[-1:] == ["name"]:
        objects = [w.lower() for w in re.split(r"[_\W]+", spec.name) if w][1:]
        phrases += [[w] for w in objects] if prop.name == "name" else []
    if len(raw) > 1:
        phrases.append(raw)
    phrases += [[w] for w in raw if w not in _GENERIC_WORDS]
    # Plurals and their singulars both introduce a value: "replicas 3", "3 replica".
    return [r"[\s_-]*".join(re.escape(stem(w)) + r"(?:e?s)?" for w in words) for words in phrases]


def _by_keyword(task: _Task, prop: _Property, spec: ToolSpec) -> tuple[Any, tuple[int, int]] | None:
    connectors = r"(?:named|called|=|:|of|to|at)?" if prop.numeric() else r"(?:named|called|=|:)?"
    name_like = prop.name == "name" or prop.name.endswith("_name") or "namespace" in prop.name
    skip = {w.lower() for w in re.split(r"[_\W]+", spec.name) if w}
    for keyword in _keywords(prop, spec):
        after = re.compile(rf"\b{keyword}\b\s*{connectors}\s*{_VALUE}", re.IGNORECASE)
        for match in after.finditer(task.text):
            group = next(i for i in (1, 2, 3) if match.group(i) is not None)
            value = _convert(match.group(group), prop)
            if value is not None and task.free(match.start(group), match.end(group)):
                return value, (match.start(group), match.end(group))
        if not (name_like or prop.numeric()):
            continue
        # A count may have one word between it and its noun ("5 G.2X workers"); a name only a word of the
        # tool's own name ("the nightly-etl Glue job").
        own = "|".join(re.escape(w) for w in sorted(skip))
        between = r"(?:[\w.-]+\s+)?" if prop.numeric() else rf"(?:(?:{own})\s+)?" if own else ""
        before = re.compile(rf"([\w.-]+)\s+{between}{keyword}\b", re.IGNORECASE)
        for match in before.finditer(task.text):
            word = match.group(1)
            value = _convert(word, prop)
            plausible = prop.numeric() or not (word.lower() in skip | _VERBS or word.isdigit())
            if value is not None and plausible and task.free(match.start(1), match.end(1)):
                return value, (match.start(1), match.end(1))
    return None


def _fill(task: _Task, prop: _Property, spec: ToolSpec) -> Any | None:
    words = {w.lower() for w in prop.raw_words}
    if words & _SQL_WORDS and prop.accepts_text():
        for start, end, value in task.quoted():
            if SQL_START.match(value):
                task.claim(start, end)
                return value.strip()
        bare = _BARE_SQL.search(task.text)
        if bare and task.free(bare.start(), bare.end()):
            task.claim(bare.start(), bare.end())
            return bare.group(0).strip().rstrip("?").strip()
    for option in prop.schema.get("enum", []):
        if isinstance(option, str) and len(option) > 1:
            match = re.search(rf"(?<![\w.]){re.escape(option)}(?![\w])", task.text, re.IGNORECASE)
            if match and task.free(match.start(), match.end()):
                task.claim(match.start(), match.end())
                return option
    if prop.types == {"boolean"}:
        phrase = r"[\s_-]+".join(re.escape(w.lower()) for w in prop.raw_words)
        return True if re.search(rf"\b{phrase}\b", task.text, re.IGNORECASE) else None
    if prop.name == "prefix" or prop.name.endswith("_prefix"):
        for match in _PREFIX.finditer(task.text):
            group = next(i for i in (1, 2, 3) if match.group(i) is not None)
            prefix = _convert(match.group(group), prop)
            if prefix is not None and task.free(match.start(group), match.end(group)):
                task.claim(match.start(group), match.end(group))
                return prefix
    found = _by_keyword(task, prop, spec)
    if found is not None:
        task.claim(*found[1])
        return found[0]
    if words & _LOCATION_WORDS:
        for match in _PLACE.finditer(task.text):
            place = _convert(match.group(1), prop)
            if place is not None and task.free(match.start(1), match.end(1)):
                task.claim(match.start(1), match.end(1))
                return place
    if prop.numeric():
        return _number(task, prop, spec)
    return None


def _number(task: _Task, prop: _Property, spec: ToolSpec) -> Any | None:
    limit_like = prop.name == "limit" or prop.name.startswith(("max_", "top"))
    if limit_like:
        objects = [re.escape(stem(w.lower())) for w in re.split(r"[_\W]+", spec.name) if w][1:]
        patterns = [_LIMIT] + [re.compile(rf"\b(\d+)\s+(?:\w+\s+)?{o}(?:e?s)?\b", re.IGNORECASE) for o in objects]
        for pattern in patterns:
            for match in pattern.finditer(task.text):
                value = _convert(match.group(1), prop)
                if value is not None and task.free(match.start(1), match.end(1)):
                    task.claim(match.start(1), match.end(1))
                    return value
        return None
    if not prop.required:
        return None
    numbers = [m for m in _NUMBER.finditer(task.text) if task.free(m.start(1), m.end(1))]
    after_to = [m for m in numbers if re.search(r"\b(?:to|=)\s*$", task.text[: m.start(1)])]
    pick = after_to[0] if len(after_to) == 1 else numbers[0] if len(numbers) == 1 else None
    if pick is None:
        return None
    value = _convert(pick.group(1), prop)
    if value is not None:
        task.claim(pick.start(1), pick.end(1))
    return value


def fill_arguments(task_text: str, spec: ToolSpec) -> ArgumentPlan:
    """Arguments for ``spec`` taken from ``task_text``, and the required ones it does not give."""
    root = spec.input_schema
    required = set(root.get("required", []))
    raw_properties = root.get("properties", {})
    properties = [
        _Property(name, _resolve(schema if isinstance(schema, dict) else {}, root), name in required)
        for name, schema in raw_properties.items()
    ]
    task = _Task(task_text)
    plan = ArgumentPlan()
    # Required properties first: when text could fill either, the call needs it more.
    for prop in sorted(properties, key=lambda p: not p.required):
        value = _fill(task, prop, spec)
        if value is not None:
            plan.arguments[prop.name] = value
    for prop in properties:
        if prop.required and prop.name not in plan.arguments and prop.accepts_text():
            quoted = task.quoted()
            if quoted:
                start, end, value = quoted[0]
                task.claim(start, end)
                plan.arguments[prop.name] = value
    for prop in properties:
        if prop.required and prop.name not in plan.arguments:
            description = str(prop.schema.get("description") or "").strip().rstrip(".")
            plan.missing.append(f"{prop.name} ({description})" if description else prop.name)
    # Keep the schema's order, so the same task always produces the same call.
    plan.arguments = {p.name: plan.arguments[p.name] for p in properties if p.name in plan.arguments}
    return plan
