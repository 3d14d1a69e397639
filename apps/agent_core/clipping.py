"""Cutting text for a line of a summary or an answer: in its middle, between words, never at its end.

The platform's servers end an error with what to do about it ("… or AWS credentials in its environment.",
"Nothing was changed."), and a value's end often tells it apart (an id, a query's LIMIT): a cut at the end
would drop exactly that.
"""

from __future__ import annotations

ELLIPSIS = "…"
_WORD_SNAP_CHARS = 16
"""How far a cut may move to fall between words rather than inside one."""


def clip_middle(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters; a longer one keeps its start and its end."""
    if len(text) <= limit:
        return text
    kept = limit - len(ELLIPSIS)
    head_end = kept // 2
    tail_start = len(text) - (kept - head_end)
    # Between words where one is near: the reader sees "… the server needs", not "…erver needs".
    space = text.rfind(" ", max(0, head_end - _WORD_SNAP_CHARS), head_end + 1)
    if space > 0:
        head_end = space + 1
    space = text.find(" ", tail_start, tail_start + _WORD_SNAP_CHARS)
    if space >= 0:
        tail_start = space
    return text[:head_end] + ELLIPSIS + text[tail_start:]
