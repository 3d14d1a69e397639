"""Which tool a clause asks for: word scores over the live catalog, safety before recall.

Each tool is described by the words of its name (weighted most), its input properties and their
enum values, its description and its server. A clause word scores its weight in the tool times its
rarity across the catalog, so ``list`` (in many tools) counts for less than ``bucket`` (in one).

A tool that changes things is only chosen when the clause names its action (``scale``, ``start``,
``store``…), and one marked destructive also needs the thing it acts on (``scale deployment``). A
question about a past write ("what did I save…") asks to read, not to write. Ties fall to read-only
tools, then to server and name, so the same clause and catalog always give the same choice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from apps.agent_core.model import ToolSpec
from apps.agent_core.reasoning.planner.text import stem, words

__all__ = ["MIN_SCORE", "Candidate", "CatalogIndex", "rank"]

MIN_SCORE = 4.0
"""About one distinctive word of a tool's name, or two of its description."""

_NAME_WEIGHT = 3.0
_PROPERTY_WEIGHT = 1.5
_TEXT_WEIGHT = 1.0
_EXACT_NAME_BONUS = 20.0
_READ_VERBS = frozenset({stem("get"), stem("list")})
# "what did I save", "what was stored", "which keys have I saved": a question about a past write.
_PAST_WRITE = re.compile(r"^\s*(?:what|which|where|show|list|tell)\b.*\b(?:did|have|has|had|was|were)\b", re.IGNORECASE)


def is_write(spec: ToolSpec) -> bool:
    return not spec.read_only


def is_destructive(spec: ToolSpec) -> bool:
    # MCP's destructive hint means something only for tools that are not read-only.
    return spec.destructive and not spec.read_only


@dataclass(frozen=True)
class Candidate:
    spec: ToolSpec
    score: float
    refused: str | None = None
    """Why a matching tool that changes things was not chosen; shown to the user."""
    matched: tuple[str, ...] = ()
    """The clause's words the tool matched, for the plan's explanation."""


class CatalogIndex:
    """Word weights of every tool and how rare each word is: built once per plan."""

    def __init__(self, tools: Sequence[ToolSpec]) -> None:
        self.tools = list(tools)
        self.weights = [_weights(spec) for spec in self.tools]
        self.name_words = [words(spec.name) for spec in self.tools]
        frequency: dict[str, int] = {}
        servers: dict[str, set[str]] = {}
        for spec, weights in zip(self.tools, self.weights, strict=True):
            for token in weights:
                frequency[token] = frequency.get(token, 0) + 1
                servers.setdefault(token, set()).add(spec.server)
        self._frequency = frequency
        self._servers = servers

    def rarity(self, token: str) -> float:
        return 1.0 + math.log(len(self.tools) / self._frequency[token]) if token in self._frequency else 0.0

    def servers_using(self, token: str) -> set[str]:
        return self._servers.get(token, set())

    @property
    def tokens(self) -> list[str]:
        return sorted(self._frequency)


def _weights(spec: ToolSpec) -> dict[str, float]:
    weights: dict[str, float] = {}

    def add(tokens: Iterable[str], weight: float) -> None:
        for token in tokens:
            weights[token] = max(weights.get(token, 0.0), weight)

    add(words(spec.description), _TEXT_WEIGHT)
    add(words(spec.server), _TEXT_WEIGHT)
    for prop, schema in spec.input_schema.get("properties", {}).items():
        add(words(prop), _PROPERTY_WEIGHT)
        for option in _enum_values(schema):
            add(words(option), _PROPERTY_WEIGHT)
    add(words(spec.name), _NAME_WEIGHT)
    return weights


def _enum_values(schema: object) -> list[str]:
    if not isinstance(schema, dict):
        return []
    found = [str(v) for v in schema.get("enum", []) if isinstance(v, str)]
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        found += _enum_values(branch)
    return found


def _safety_refusal(spec: ToolSpec, name_words: list[str], clause_words: set[str]) -> str | None:
    """None when the clause asks for this tool's action by name; else why it is not run."""
    if not is_write(spec):
        return None
    if not name_words:
        return "it changes things and its name gives no action to match"
    verb, objects = name_words[0], set(name_words[1:])
    if verb not in clause_words:
        return f"it changes things, and the task does not ask to {spec.name.split('_')[0]}"
    if is_destructive(spec) and objects and not objects & clause_words:
        shown = ", ".join(w for w in re.split(r"[_\W]+", spec.name)[1:] if w)
        return f"it changes things, and the task does not name what to {spec.name.split('_')[0]} ({shown})"
    return None


def reading_intent(clause: str, clause_words: set[str], index: CatalogIndex) -> set[str]:
    """A question about a past write asks to read: its write verbs become ``get`` and ``list``."""
    if not _PAST_WRITE.search(clause):
        return clause_words
    write_verbs = {
        names[0] for spec, names in zip(index.tools, index.name_words, strict=True) if names and is_write(spec)
    }
    return (clause_words - write_verbs) | _READ_VERBS


def rank(clause: str, clause_words: set[str], index: CatalogIndex) -> tuple[list[Candidate], list[Candidate]]:
    """Tools allowed for the clause (best first, at least ``MIN_SCORE``) and matching tools refused for safety."""
    clause_words = reading_intent(clause, clause_words, index)
    lowered = clause.lower()
    scored: list[Candidate] = []
    for spec, weights, name_words in zip(index.tools, index.weights, index.name_words, strict=True):
        # Sorted: float sums depend on their order, and the plan must not.
        matched = tuple(token for token in sorted(clause_words) if token in weights)
        score = sum(weights[token] * index.rarity(token) for token in matched)
        if re.search(rf"(?<![\w.]){re.escape(spec.name.lower())}(?![\w])", lowered):
            score += _EXACT_NAME_BONUS
        if score > 0:
            refusal = _safety_refusal(spec, name_words, clause_words)
            scored.append(Candidate(spec, round(score, 6), refusal, matched))
    scored.sort(key=lambda c: (-c.score, not c.spec.read_only, c.spec.server, c.spec.name))
    allowed = [c for c in scored if c.refused is None and c.score >= MIN_SCORE]
    best = allowed[0].score if allowed else 0.0
    refused = [c for c in scored if c.refused is not None and c.score >= max(MIN_SCORE, best)]
    return allowed, refused
