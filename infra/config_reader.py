"""Typed, key-naming access to raw Pulumi config values (strings; lists and maps as JSON)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from ipaddress import IPv4Network
from typing import Any

import pulumi

from infra.cidr import CidrError, parse_cidr

__all__ = ["PROJECT", "REQUIRED", "ConfigError", "RawGetter", "Reader"]

PROJECT = "agentic-platform"
RawGetter = Callable[[str], "str | None"]
REQUIRED: Any = object()


class ConfigError(pulumi.RunError):
    """The configuration is unusable; `problems` holds one line per offending key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack configuration:\n  " + "\n  ".join(problems))


class Reader:
    """Typed access to raw config strings; failures are recorded against the key, never raised one by one."""

    def __init__(self, get: RawGetter) -> None:
        self._get = get
        self.problems: list[str] = []

    def fail(self, key: str, message: str) -> None:
        self.problems.append(f"{_full(key)}: {message}")

    def _raw(self, key: str, default: Any) -> tuple[str | None, bool]:
        value = self._get(_full(key))
        if value is None or value == "":
            if default is REQUIRED:
                self.fail(key, f"required but not set (pulumi config set {key} <value>)")
            return None, False
        return value, True

    def text(
        self,
        key: str,
        default: Any = REQUIRED,
        *,
        pattern: re.Pattern[str] | None = None,
        choices: tuple[str, ...] = (),
        hint: str = "",
    ) -> Any:
        value, present = self._raw(key, default)
        if not present:
            return None if default is REQUIRED else default
        if choices and value not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}; got {value!r}")
        elif pattern is not None and not pattern.match(str(value)):
            self.fail(key, f"{value!r} is malformed{': ' + hint if hint else ''}")
        return value

    def integer(self, key: str, default: int, *, minimum: int, maximum: int) -> int:
        value, present = self._raw(key, default)
        if not present:
            return default
        try:
            number = int(str(value))
        except ValueError:
            self.fail(key, f"must be an integer; got {value!r}")
            return default
        if not minimum <= number <= maximum:
            self.fail(key, f"must be between {minimum} and {maximum}; got {number}")
        return number

    def boolean(self, key: str, default: bool) -> bool:
        value, present = self._raw(key, default)
        if not present:
            return default
        if str(value).lower() not in ("true", "false"):
            self.fail(key, f"must be true or false; got {value!r}")
            return default
        return str(value).lower() == "true"

    def strings(
        self,
        key: str,
        default: tuple[str, ...],
        *,
        pattern: re.Pattern[str] | None = None,
        choices: tuple[str, ...] = (),
        min_items: int = 0,
        hint: str = "",
    ) -> tuple[str, ...]:
        value, present = self._raw(key, default)
        if not present:
            items = default
        else:
            parsed = _json(value)
            if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
                self.fail(key, f"must be a list of strings; got {value!r}")
                return default
            items = tuple(parsed)
        for item in items:
            if choices and item not in choices:
                self.fail(key, f"{item!r} is not one of {', '.join(choices)}")
            elif pattern is not None and not pattern.match(item):
                self.fail(key, f"{item!r} is malformed{': ' + hint if hint else ''}")
        if len(items) < min_items:
            self.fail(key, f"needs at least {min_items} item(s)")
        if len(set(items)) != len(items):
            self.fail(key, "has duplicates")
        return items

    def mapping(self, key: str) -> dict[str, str]:
        value, present = self._raw(key, None)
        if not present:
            return {}
        parsed = _json(value)
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            self.fail(key, f"must be a map of strings; got {value!r}")
            return {}
        return parsed

    def cidrs(self, key: str, default: tuple[str, ...]) -> tuple[IPv4Network, ...]:
        networks = []
        for text in self.strings(key, default):
            try:
                networks.append(parse_cidr(text))
            except CidrError as exc:
                self.fail(key, str(exc))
        return tuple(networks)


def _full(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def _json(value: str | None) -> Any:
    try:
        return json.loads(value or "")
    except ValueError:
        return None
