"""Choosing tools for a task without a language model: keyword scores over the catalog.

Each tool is described by the words of its name (weighted most), its description, its server and
its input properties. Words are lower-cased, split at ``_``, camelCase and punctuation, lightly
stemmed (``buckets`` → ``bucket``) and folded through a small synonym table (``forecast`` →
``weather``). A task word scores its weight in the tool times its rarity across the catalog, so
``list`` (in many tools) counts for less than ``bucket`` (in one).

Safety before recall: a tool that changes things is only chosen when the task names its action
(``scale``, ``start``, ``store``…), and one marked destructive also needs the thing it acts on
(``scale deployment``). Ties fall to read-only tools, then to server and name, so the same task
and catalog always give the same plan.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from apps.agent_core.reasoning.base import ToolSpec

__all__ = [
    "MAX_TOOLS",
    "MIN_SCORE",
    "QUOTED",
    "SQL_START",
    "STOPWORDS",
    "Candidate",
    "intent_words",
    "rank_tools",
    "stem",
    "words",
]

MAX_TOOLS = 2
MIN_SCORE = 4.0
"""About one distinctive word of a tool's name, or two of its description."""
RELATIVE_SCORE = 0.75
"""A second tool must score at least this share of the best one: a task is usually about one thing."""

_NAME_WEIGHT = 3.0
_PROPERTY_WEIGHT = 1.5
_TEXT_WEIGHT = 1.0
_EXACT_NAME_BONUS = 20.0

# Kept as one string: a list of 90 one-word literals would be 90 lines.
STOPWORDS = frozenset(
    "a an the of in on at for to from by with and or but is are was were be been am do does did what whats "  # noqa: SIM905
    "which who whom whose how when where why there here this that these those it its me my our your you i we "
    "please can could would should will shall may might just also some any all every each much many s t "
    "tell give current now today right about into than then them they their us ok hi hello".split()
)

# Folded on both sides (task and tools), so "diagnose" in a description meets "debug" in a task.
SYNONYMS = {
    "forecast": "weather",
    "temperature": "weather",
    "rain": "weather",
    "raining": "weather",
    "sunny": "weather",
    "save": "store",
    "put": "store",
    "remember": "store",
    "write": "store",
    "fetch": "get",
    "read": "get",
    "retrieve": "get",
    "recall": "get",
    "lookup": "get",
    "sql": "query",
    "select": "query",
    "resize": "scale",
    "scaling": "scale",
    "scaled": "scale",
    "replica": "replicas",
    "deploy": "deployment",
    "container": "pod",
    "health": "status",
    "healthy": "status",
    "state": "status",
    "debug": "troubleshoot",
    "diagnose": "troubleshoot",
    "diagnosis": "troubleshoot",
    "crash": "troubleshoot",
    "crashing": "troubleshoot",
    "crashloop": "troubleshoot",
    "failing": "troubleshoot",
    "broken": "troubleshoot",
    "trigger": "start",
    "launch": "start",
    "kick": "start",
    "enumerate": "list",
    "llm": "bedrock",
    "claude": "bedrock",
    "etl": "glue",
    "table": "schema",
    "column": "schema",
}

# Straight, typographic (\u201c \u201d, \u2018 \u2019) and back quotes; not the apostrophe in "what's".
QUOTED = re.compile("(?<!\\w)(?:\"([^\"]+)\"|'([^']+)'|\u201c([^\u201d]+)\u201d|\u2018([^\u2019]+)\u2019|`([^`]+)`)")
SQL_START = re.compile(r"^\s*(?:select|with|pragma)\b", re.IGNORECASE)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    """Plural to singular, roughly: enough for ``buckets``, ``queries``, ``statuses``; never below 3 letters."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith(("sses", "ches", "shes", "xes", "uses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Canonical words of ``text``, in order, stopwords dropped."""
    found = _WORD.findall(_CAMEL.sub(" ", text).lower())
    result: list[str] = []
    for word in found:
        if word in STOPWORDS:
            continue
        canonical = SYNONYMS.get(word) or SYNONYMS.get(stem(word)) or stem(word)
        result.append(canonical)
    return result


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
    named: frozenset[str] = frozenset()
    """Task words found in the tool's name."""
    covers: frozenset[str] = frozenset()
    """Task words found in the tool's name or property names: the subjects it deals with."""


def _weights(spec: ToolSpec) -> dict[str, float]:
    weights: dict[str, float] = {}

    def add(tokens: Iterable[str], weight: float) -> None:
        for token in tokens:
            weights[token] = max(weights.get(token, 0.0), weight)

    add(words(spec.description), _TEXT_WEIGHT)
    add(words(spec.server), _TEXT_WEIGHT)
    add((w for prop in spec.input_schema.get("properties", {}) for w in words(prop)), _PROPERTY_WEIGHT)
    add(words(spec.name), _NAME_WEIGHT)
    return weights


def _safety_refusal(spec: ToolSpec, task_words: set[str]) -> str | None:
    """None when the task asks for this tool's action by name; else why it is not run."""
    if not is_write(spec):
        return None
    name_words = words(spec.name)
    if not name_words:
        return "it changes things and its name gives no action to match"
    verb, objects = name_words[0], set(name_words[1:])
    if verb not in task_words:
        return f"it changes things, and the task does not ask to {verb}"
    if is_destructive(spec) and objects and not objects & task_words:
        return f"it changes things, and the task does not name what to {verb} ({', '.join(sorted(objects))})"
    return None


def intent_words(task: str) -> set[str]:
    """The task's words outside quotes: a quoted prompt or value is what to pass, not what to do.

    A quoted SQL statement still says what to do: run a query.
    """
    quoted = [next(g for g in m.groups() if g is not None) for m in QUOTED.finditer(task)]
    found = set(words(QUOTED.sub(" ", task)))
    if any(SQL_START.match(text) for text in quoted):
        found.add("query")
    return found


def rank_tools(task: str, tools: list[ToolSpec]) -> tuple[list[Candidate], list[Candidate]]:
    """The tools to run (at most ``MAX_TOOLS``, best first) and the matching tools refused for safety.

    A second tool is chosen when it scores close to the best, or when its name matches task words
    the best tool's name does not ("weather in Paris and list S3 buckets": two subjects).
    """
    task_words = intent_words(task)
    task_lower = task.lower()
    if not tools or not task_words:
        return [], []
    tool_weights = [_weights(spec) for spec in tools]
    document_frequency: dict[str, int] = {}
    for weights in tool_weights:
        for token in weights:
            document_frequency[token] = document_frequency.get(token, 0) + 1

    def rarity(token: str) -> float:
        return 1.0 + math.log(len(tools) / document_frequency[token])

    scored: list[Candidate] = []
    for spec, weights in zip(tools, tool_weights, strict=True):
        # Sorted: float sums depend on their order, and the plan must not.
        score = sum(weights[token] * rarity(token) for token in sorted(task_words) if token in weights)
        if re.search(rf"(?<![\w.]){re.escape(spec.name.lower())}(?![\w])", task_lower):
            score += _EXACT_NAME_BONUS
        if score > 0:
            named = frozenset(set(words(spec.name)) & task_words)
            covers = frozenset(t for t in task_words if weights.get(t, 0.0) >= _PROPERTY_WEIGHT)
            scored.append(Candidate(spec, round(score, 6), _safety_refusal(spec, task_words), named, covers))
    scored.sort(key=lambda c: (-c.score, not c.spec.read_only, c.spec.server, c.spec.name))
    allowed = [c for c in scored if c.refused is None and c.score >= MIN_SCORE]
    chosen = allowed[:1]
    for candidate in allowed[1:]:
        if len(chosen) == MAX_TOOLS:
            break
        covered = frozenset().union(*(c.covers for c in chosen))
        new_subject = sum(_NAME_WEIGHT * rarity(token) for token in sorted(candidate.named - covered))
        if candidate.score >= RELATIVE_SCORE * chosen[0].score or new_subject >= MIN_SCORE:
            chosen.append(candidate)
    best = chosen[0].score if chosen else 0.0
    refused = [c for c in scored if c.refused is not None and c.score >= max(MIN_SCORE, best)]
    return chosen, refused[:MAX_TOOLS]
