"""The shape of a rule, mirroring pulumi-policy without depending on it.

A `ResourceRule` is a `ResourceValidationPolicy`: it sees one resource's type and input properties and
returns violation messages. A `StackRule` is a `StackValidationPolicy`: it sees every resource with its
property dependencies (which resource each input came from). `policy/__main__.py` wraps both in the real
classes when pulumi-policy is installed; tests/infra runs them over the resources recorded under mocks.

Props are plain data. A value the engine does not know yet (preview) is `Unknown`-like: rules call
`known()` and skip what they cannot judge, as pulumi-policy does when an unknown is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ResourceRule", "StackResource", "StackRule", "Violation", "known", "unwrap"]


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    urn: str | None = None


def known(value: Any) -> bool:
    """False for a preview's unknown value (the mocks' `UNKNOWN` sentinel or pulumi's `Unknown`)."""
    return type(value).__name__ not in ("_Unknown", "Unknown")


def unwrap(value: Any) -> Any:
    """The plain value inside a secret marker, if any (pulumi-policy already hands secrets unwrapped)."""
    return getattr(value, "value", value) if type(value).__name__ == "Secret" else value


@dataclass(frozen=True)
class ResourceRule:
    name: str
    description: str
    check: Callable[[str, Mapping[str, Any]], Iterable[str]]
    # None: every type.
    resource_types: frozenset[str] | None = None

    def validate(self, resource_type: str, props: Mapping[str, Any]) -> list[str]:
        if self.resource_types is not None and resource_type not in self.resource_types:
            return []
        return list(self.check(resource_type, props))


@dataclass(frozen=True)
class StackResource:
    urn: str
    resource_type: str
    name: str
    props: Mapping[str, Any]
    # Input property name → URNs of the resources whose outputs flowed into it.
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StackRule:
    name: str
    description: str
    # Returns (urn or None, message) pairs.
    check: Callable[[Sequence[StackResource]], Iterable[tuple[str | None, str]]]

    def validate(self, resources: Sequence[StackResource]) -> list[Violation]:
        return [Violation(self.name, message, urn) for urn, message in self.check(resources)]
