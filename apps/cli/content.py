"""A step result of content blocks as terminal lines: one per block, never the base64 of an image.

The agent core keeps a tool result with an image, audio, an embedded resource or a resource link as
``{"content": [block, …]}`` (with ``structuredContent`` beside it when the tool sent one), each block
in MCP's wire shape; text-only and structured results stay plain text or JSON and are not this.
"""

from __future__ import annotations

import json
from typing import Any

from apps.cli.text import one_line, shorten

__all__ = ["block_line", "content_blocks", "content_lines", "result_lines"]


def content_blocks(value: Any) -> list[Any] | None:
    """The blocks of a content result, or ``None`` for any other result."""
    if not (isinstance(value, dict) and isinstance(value.get("content"), list)):
        return None
    blocks: list[Any] = value["content"]
    if value.keys() <= {"content", "structuredContent"} and any(
        isinstance(block, dict) and block.get("type") != "text" for block in blocks
    ):
        return blocks
    return None


def _size(base64_data: str) -> str:
    data = base64_data.rstrip()
    size = len(data) * 3 // 4 - (len(data) - len(data.rstrip("=")))
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def _media(mime_type: Any, data: Any, omitted: Any, separator: str = " ") -> str:
    kind = str(mime_type or "binary")
    return f"{kind}{separator}{omitted or _size(str(data or ''))}"


def block_line(block: Any, width: int = 100, ellipsis: str = "…") -> str:
    """One block in a line: ``text: …``, ``image/png 1.2 KiB``, ``resource <uri> (text, 340 chars)``,
    ``link <uri> (name)``."""
    if not isinstance(block, dict):
        return shorten(json.dumps(block, ensure_ascii=False, default=str), width, ellipsis)
    kind = block.get("type")
    if kind == "text":
        line = f"text: {block.get('text', '')}"
    elif kind in ("image", "audio"):
        line = _media(block.get("mimeType"), block.get("data"), block.get("omitted"))
    elif kind == "resource":
        found = block.get("resource")
        resource: dict[str, Any] = found if isinstance(found, dict) else {}
        if isinstance(resource.get("text"), str):
            line = f"resource {resource.get('uri')} (text, {len(resource['text'])} chars)"
        else:
            media = _media(resource.get("mimeType"), resource.get("blob"), resource.get("omitted"), ", ")
            line = f"resource {resource.get('uri')} ({media})"
    elif kind == "resource_link":
        line = f"link {block.get('uri')} ({block.get('title') or block.get('name')})"
    else:
        line = json.dumps(block, ensure_ascii=False, default=str)
    return shorten(line, width, ellipsis)


def content_lines(value: Any, width: int = 100, ellipsis: str = "…") -> list[str] | None:
    """A line per block of a content result (and one for its structured content), or ``None`` for any other."""
    blocks = content_blocks(value)
    if blocks is None:
        return None
    lines = [block_line(block, width, ellipsis) for block in blocks]
    if value.get("structuredContent") is not None:
        structured = json.dumps(value["structuredContent"], ensure_ascii=False, default=str)
        lines.append(shorten(f"structured: {structured}", width, ellipsis))
    return lines


def result_lines(value: Any, width: int = 100, ellipsis: str = "…") -> tuple[str, list[str]]:
    """A result for its step's line, and the lines to print under it: one per block of a content result."""
    lines = content_lines(value, width, ellipsis)
    if lines is None:
        return one_line(value, width, ellipsis), []
    count = len(value["content"])
    return f"{count} content block{'s' if count != 1 else ''}:", lines
