"""Turning the API's values into short terminal text: durations, ages, one-line results, tables."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Style:
    """Symbols and colours for one output stream: colours only on a terminal, ASCII where UTF-8 cannot go."""

    color: bool = False
    unicode: bool = True

    @classmethod
    def for_stream(cls, stream: Any, *, is_tty: bool, no_color: bool) -> Style:
        encoding = (getattr(stream, "encoding", None) or "ascii").lower()
        try:
            "✓✗⏸⠋…·→".encode(encoding)
            unicode = True
        except (LookupError, UnicodeEncodeError):
            unicode = False
        return cls(color=is_tty and not no_color, unicode=unicode)

    def paint(self, text: str, color: str) -> str:
        codes = {"green": "32", "red": "31", "yellow": "33", "dim": "2", "bold": "1", "cyan": "36"}
        return f"\x1b[{codes[color]}m{text}\x1b[0m" if self.color and color in codes else text

    def symbol(self, name: str) -> str:
        fancy = {"ok": "✓", "fail": "✗", "pause": "⏸", "skip": "↷", "start": "→", "turn": "·", "info": "•"}
        plain = {"ok": "+", "fail": "x", "pause": "||", "skip": "~", "start": ">", "turn": "-", "info": "*"}
        return (fancy if self.unicode else plain)[name]

    @property
    def ellipsis(self) -> str:
        return "…" if self.unicode else "..."

    @property
    def dot(self) -> str:
        """The separator between facts on one line."""
        return " · " if self.unicode else " - "


STATUS_COLORS = {
    "succeeded": "green",
    "failed": "red",
    "needs_attention": "red",
    "rejected": "red",
    "cancelled": "yellow",
    "awaiting_approval": "yellow",
    "pending": "yellow",
    "expired": "red",
    "approved": "green",
}


def status_text(status: str, style: Style) -> str:
    return style.paint(status, STATUS_COLORS.get(status, "cyan"))


def shorten(text: str, width: int, ellipsis: str = "…") -> str:
    """``text`` on one line, cut to ``width`` characters."""
    flat = " ".join(text.split())
    if width <= 0:
        return ""
    return flat if len(flat) <= width else flat[: max(0, width - len(ellipsis))] + ellipsis


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def one_line(value: Any, width: int = 80, ellipsis: str = "…") -> str:
    """A result in one line: text as is, anything else as compact JSON."""
    if value is None:
        return ""
    return shorten(value if isinstance(value, str) else compact_json(value), width, ellipsis)


def duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def age(at: float | None, now: float | None = None) -> str:
    """How long ago ``at`` (epoch seconds) was: ``12s``, ``5m``, ``3h``, ``2d``."""
    if at is None:
        return "-"
    seconds = max(0.0, (time.time() if now is None else now) - at)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def until(at: float, now: float | None = None) -> str:
    """Time left until ``at``: ``14m05s``, or ``expired``."""
    seconds = at - (time.time() if now is None else now)
    if seconds <= 0:
        return "expired"
    return duration(seconds * 1000)


def usage_text(usage: dict[str, Any] | None) -> str:
    usage = usage or {}
    return f"{usage.get('input_tokens', 0)} input, {usage.get('output_tokens', 0)} output"


def progress_text(data: dict[str, Any], style: Style, width: int = 60) -> str:
    """A ``step_progress`` event's report: ``3/8 (38%) · copying``, or ``42`` when the tool gives no total."""
    progress, total = _number(data.get("progress")), _number(data.get("total"))
    text = f"{progress:g}"
    if total:
        text += f"/{total:g} ({min(100, max(0, round(100 * progress / total)))}%)"
    message = "".join(char for char in str(data.get("message") or "") if char.isprintable())
    return text + (style.dot + shorten(message, width, style.ellipsis) if message.strip() else "")


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def tool_name(server: str | None, tool: str | None) -> str:
    return f"{server}.{tool}" if server and tool else tool or server or "?"
