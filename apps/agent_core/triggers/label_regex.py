"""Label regexes matched in time linear in the label's length, whatever the pattern.

Python's ``re`` backtracks: ``(a+)+$`` or ``a*a*a*a*b`` against a long label takes exponential or polynomial time,
and labels arrive from the network. So rules' regexes are compiled here into a Thompson NFA and matched by keeping
the set of states the input could be in: at most (label length x states) steps, and the states are bounded.

The syntax is the common subset of RE2 (Alertmanager's engine) and Python's: literals, ``.`` (not a newline),
classes ``[a-z0-9_-]`` and ``[^...]``, ``\\d \\w \\s`` (ASCII) and their negations, escaped punctuation, groups
``( )`` and ``(?: )``, ``|``, and the greedy quantifiers ``* + ?`` and ``{m}``, ``{m,}``, ``{m,n}`` (n ≤ 100).
Backreferences, look-arounds, lazy quantifiers and anchors are refused: a pattern always matches the whole value,
as Alertmanager's do. ``LabelRegexError`` says what and where.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MAX_PATTERN_CHARS", "LabelRegex", "LabelRegexError"]

MAX_PATTERN_CHARS = 256
MAX_STATES = 2000
"""States of one compiled pattern (a bounded repeat is copied per repetition): the factor of the match's work."""
MAX_REPEAT = 100
MAX_GROUP_DEPTH = 16

Ranges = tuple[tuple[int, int], ...]
_DIGIT: Ranges = ((48, 57),)
_WORD: Ranges = ((48, 57), (65, 90), (95, 95), (97, 122))
_SPACE: Ranges = ((9, 13), (32, 32))
_CLASSES: dict[str, tuple[Ranges, bool]] = {
    "d": (_DIGIT, False),
    "D": (_DIGIT, True),
    "w": (_WORD, False),
    "W": (_WORD, True),
    "s": (_SPACE, False),
    "S": (_SPACE, True),
}
_SPECIAL = frozenset("()[]{}*+?|.\\^$")


class LabelRegexError(ValueError):
    """The pattern is not in the supported syntax or is too large; the message names the position."""


@dataclass(frozen=True)
class _Chars:
    """What one character step accepts: code points in ``ranges``, or outside them when ``negated``."""

    ranges: Ranges
    negated: bool = False

    def accepts(self, char: str) -> bool:
        code = ord(char)
        inside = any(low <= code <= high for low, high in self.ranges)
        return inside != self.negated


_ANY = _Chars(((10, 10),), negated=True)


@dataclass
class _State:
    chars: _Chars | None = None
    """A character step to ``out``; ``None`` for a split (``eps``) or the final state (no ``eps``)."""
    out: int = -1
    eps: list[int] = field(default_factory=list)


# The parse tree: ("chars", _Chars) | ("seq", [node]) | ("alt", [node]) | ("repeat", node, low, high or None)
_Node = tuple[object, ...]


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0

    def fail(self, message: str) -> LabelRegexError:
        return LabelRegexError(f"{message} at position {self.at} of {self.text!r}")

    def peek(self) -> str | None:
        return self.text[self.at] if self.at < len(self.text) else None

    def take(self) -> str:
        char = self.text[self.at]
        self.at += 1
        return char

    def parse(self) -> _Node:
        node = self.alternation(0)
        if self.at != len(self.text):
            raise self.fail("unbalanced ')'")
        return node

    def alternation(self, depth: int) -> _Node:
        branches = [self.sequence(depth)]
        while self.peek() == "|":
            self.take()
            branches.append(self.sequence(depth))
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self, depth: int) -> _Node:
        items: list[_Node] = []
        while (char := self.peek()) is not None and char not in "|)":
            items.append(self.quantified(self.atom(depth)))
        return ("seq", items)

    def atom(self, depth: int) -> _Node:
        char = self.take()
        if char == "(":
            if depth >= MAX_GROUP_DEPTH:
                raise self.fail(f"groups nested more than {MAX_GROUP_DEPTH} deep")
            if self.text.startswith("?:", self.at):
                self.at += 2
            elif self.peek() == "?":
                raise self.fail("only (?:...) groups are supported (no look-arounds, flags or names)")
            node = self.alternation(depth + 1)
            if self.peek() != ")":
                raise self.fail("missing ')'")
            self.take()
            return node
        if char == "[":
            return ("chars", self.char_class())
        if char == ".":
            return ("chars", _ANY)
        if char == "\\":
            return ("chars", self.escape(in_class=False))
        if char in "^$":
            raise self.fail(f"'{char}' is not needed: a pattern always matches the whole value")
        if char in _SPECIAL:
            raise self.fail(f"'{char}' must be escaped here")
        return ("chars", _Chars(((ord(char), ord(char)),)))

    def escape(self, *, in_class: bool) -> _Chars:
        if self.peek() is None:
            raise self.fail("a pattern cannot end with '\\'")
        char = self.take()
        if char in _CLASSES and not (in_class and _CLASSES[char][1]):
            ranges, negated = _CLASSES[char]
            return _Chars(ranges, negated)
        if char.isalnum():
            raise self.fail(f"'\\{char}' is not supported (backreferences, anchors and escapes other than \\d \\w \\s)")
        return _Chars(((ord(char), ord(char)),))

    def char_class(self) -> _Chars:
        negated = self.peek() == "^"
        if negated:
            self.take()
        ranges: list[tuple[int, int]] = []
        while (char := self.peek()) != "]":
            if char is None:
                raise self.fail("missing ']'")
            self.take()
            if char == "\\":
                ranges.extend(self.escape(in_class=True).ranges)
                continue
            if char == "[":
                raise self.fail("'[' must be escaped in a class")
            low = ord(char)
            if self.peek() == "-" and self.text[self.at + 1 : self.at + 2] not in ("]", ""):
                self.take()
                high = ord(self.take())
                if high < low:
                    raise self.fail("a range's end is before its start")
                ranges.append((low, high))
            else:
                ranges.append((low, low))
        self.take()
        if not ranges:
            raise self.fail("an empty class")
        return _Chars(tuple(ranges), negated)

    def quantified(self, node: _Node) -> _Node:
        char = self.peek()
        if char is None or char not in "*+?{":
            return node
        self.take()
        low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}.get(char, (0, 0))
        if char == "{":
            low, high = self.bounds()
        if self.peek() in ("?", "+", "*", "{"):
            raise self.fail("lazy, possessive or repeated quantifiers are not supported")
        return ("repeat", node, low, high)

    def bounds(self) -> tuple[int, int | None]:
        close = self.text.find("}", self.at)
        if close < 0:
            raise self.fail("missing '}'")
        low_text, comma, high_text = self.text[self.at : close].partition(",")
        if not low_text.isdigit() or (high_text and not high_text.isdigit()):
            raise self.fail("a repeat is {m}, {m,} or {m,n}")
        self.at = close + 1
        low = int(low_text)
        high = None if comma and not high_text else int(high_text or low_text)
        if low > MAX_REPEAT or (high is not None and not low <= high <= MAX_REPEAT):
            raise self.fail(f"a repeat's bounds must be 0 ≤ m ≤ n ≤ {MAX_REPEAT}")
        return low, high


class _Builder:
    """Thompson's construction, back to front: each node is built knowing the state that follows it."""

    def __init__(self) -> None:
        self.states: list[_State] = [_State()]  # 0: the final state

    def new(self, state: _State) -> int:
        if len(self.states) >= MAX_STATES:
            raise LabelRegexError(f"the pattern is too large once its repeats are expanded (over {MAX_STATES} states)")
        self.states.append(state)
        return len(self.states) - 1

    def build(self, node: _Node, follow: int) -> int:
        kind = node[0]
        if kind == "chars":
            assert isinstance(node[1], _Chars)
            return self.new(_State(chars=node[1], out=follow))
        if kind == "seq":
            assert isinstance(node[1], list)
            for item in reversed(node[1]):
                follow = self.build(item, follow)
            return follow
        if kind == "alt":
            assert isinstance(node[1], list)
            return self.new(_State(eps=[self.build(branch, follow) for branch in node[1]]))
        body, low, high = node[1], node[2], node[3]
        assert isinstance(body, tuple) and isinstance(low, int) and (high is None or isinstance(high, int))
        if high is None:  # body{low,}: a loop, after low copies
            loop = self.new(_State())
            self.states[loop].eps = [self.build(body, loop), follow]
            follow = loop
        else:  # body{low,high}: (high - low) optional copies, nested so that each needs the one before
            for _ in range(high - low):
                follow = self.new(_State(eps=[self.build(body, follow), follow]))
        for _ in range(low):
            follow = self.build(body, follow)
        return follow


class LabelRegex:
    """A compiled pattern; ``matches(value)`` is whether it matches all of ``value``."""

    def __init__(self, pattern: str) -> None:
        if len(pattern) > MAX_PATTERN_CHARS:
            raise LabelRegexError(f"a pattern is at most {MAX_PATTERN_CHARS} characters, got {len(pattern)}")
        self.pattern = pattern
        builder = _Builder()
        self._start = builder.build(_Parser(pattern).parse(), 0)
        self._states = builder.states

    def _closure(self, states: set[int]) -> set[int]:
        reached = set(states)
        pending = list(states)
        while pending:
            for target in self._states[pending.pop()].eps:
                if target not in reached:
                    reached.add(target)
                    pending.append(target)
        return reached

    def matches(self, value: str) -> bool:
        current = self._closure({self._start})
        for char in value:
            step = {
                state.out
                for index in current
                if (state := self._states[index]).chars is not None and state.chars.accepts(char)
            }
            if not step:
                return False
            current = self._closure(step)
        return 0 in current
