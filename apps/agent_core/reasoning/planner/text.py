"""The words of a task and of a tool, as the offline planner compares them.

Words are lower-cased, split at ``_``, camelCase and punctuation, folded through a small synonym
table (``forecast`` → ``weather``, ``save`` → ``store``) and stemmed to a rough root, the same way on
both sides: ``buckets`` → ``bucket``, ``stored`` → ``stor`` ← ``store``, ``running`` → ``run``. The
roots are only compared, never shown. ``singular`` is the gentler stem the argument filler uses to
build patterns that must still match the task's own spelling.

A task is split into clauses (``split_clauses``) at sentence ends, ``;``, ``and`` and ``then``,
never inside quotes: each clause is one request, and ``then`` says it must wait for the one before.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = [
    "QUOTED",
    "SQL_START",
    "STOPWORDS",
    "Clause",
    "intent_words",
    "quoted_values",
    "singular",
    "split_clauses",
    "stem",
    "words",
]

# Kept as one string: a list of 90 one-word literals would be 90 lines.
STOPWORDS = frozenset(
    "a an the of in on at for to from by with and or but is are was were be been am do does did what whats "  # noqa: SIM905
    "which who whom whose how when where why there here this that these those it its me my our your you i we "
    "please can could would should will shall may might just also some any all every each much many s t "
    "tell give current now today right about into than then them they their us ok hi hello have has had".split()
)

# Folded on both sides (task and tools), so "diagnose" in a description meets "debug" in a task.
SYNONYMS = {
    "forecast": "weather",
    "temperature": "weather",
    "rain": "weather",
    "raining": "weather",
    "sunny": "weather",
    "save": "store",
    "saved": "store",
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
    "show": "list",
    "llm": "bedrock",
    "claude": "bedrock",
    "etl": "glue",
    "table": "schema",
    "tables": "schema",
    "column": "schema",
    "columns": "schema",
}

# Straight, typographic (\u201c \u201d, \u2018 \u2019) and back quotes; not the apostrophe in "what's".
QUOTED = re.compile("(?<!\\w)(?:\"([^\"]+)\"|'([^']+)'|\u201c([^\u201d]+)\u201d|\u2018([^\u2019]+)\u2019|`([^`]+)`)")
SQL_START = re.compile(r"^\s*(?:select|with|pragma)\b", re.IGNORECASE)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")
_VOWELS = frozenset("aeiouy")


def singular(word: str) -> str:
    """Plural to singular, roughly: enough for ``buckets``, ``queries``, ``statuses``; never below 3 letters."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith(("sses", "ches", "shes", "xes", "uses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def stem(word: str) -> str:
    """A rough root: singular, then ``-ing``/``-ed`` and a final ``e`` dropped (``stored``, ``store`` → ``stor``)."""
    root = singular(word)
    for suffix in ("ing", "ed"):
        base = root[: -len(suffix)]
        if root.endswith(suffix) and len(base) >= 3 and set(base) & _VOWELS and not base.endswith("e"):
            root = base[:-1] if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz" else base
            break
    return root[:-1] if len(root) > 3 and root.endswith("e") and not root.endswith("ee") else root


@functools.lru_cache(maxsize=8192)
def _canonical(word: str) -> str:
    return stem(SYNONYMS.get(word) or SYNONYMS.get(singular(word)) or word)


def words(text: str) -> list[str]:
    """Canonical roots of ``text``'s words, in order, stopwords dropped."""
    return list(_words(text))


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    # Tool names and descriptions are the same on every plan: their words are worked out once.
    return tuple(_canonical(word) for word in _WORD.findall(_CAMEL.sub(" ", text).lower()) if word not in STOPWORDS)


def quoted_values(text: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in QUOTED.finditer(text)]


def intent_words(task: str) -> set[str]:
    """The task's words outside quotes: a quoted prompt or value is what to pass, not what to do.

    A quoted SQL statement still says what to do: run a query.
    """
    found = set(words(QUOTED.sub(" ", task)))
    if any(SQL_START.match(text) for text in quoted_values(task)):
        found.add(stem("query"))
    return found


@dataclass(frozen=True)
class Clause:
    text: str
    after_previous: bool = False
    """``then`` joined it to the clause before: it runs once that one has finished."""


# A sentence ends at . ? ! followed by space; ";" always; "and"/"then" between words. Not inside quotes.
_BOUNDARY = re.compile(
    r"(?P<end>[.?!](?=\s)|;)\s*(?:and\s+)?(?P<then1>then\b)?|"
    r"\s*,?\s+(?:and\s+then|then|and)\b(?P<then2>)|\s*,\s*(?P<then3>then)\b",
    re.IGNORECASE,
)


def split_clauses(task: str) -> list[Clause]:
    """The task's requests in order; text that is only punctuation or stopwords is dropped."""
    masked = QUOTED.sub(lambda m: "\0" * len(m.group(0)), task)
    clauses: list[Clause] = []
    start, pending_then = 0, False
    for match in _BOUNDARY.finditer(masked):
        piece = task[start : match.start() + (1 if match.group("end") and match.group("end") in "?!" else 0)]
        if words(piece):
            clauses.append(Clause(piece.strip(), pending_then))
            pending_then = False
        start = match.end()
        pending_then = pending_then or bool(match.group(0).lower().strip(" ,;.?!").endswith("then"))
    rest = task[start:]
    if words(rest):
        clauses.append(Clause(rest.strip(), pending_then))
    return clauses or [Clause(task.strip())]
