"""What the offline planner writes back: the key facts of each result, in a line, without a model.

Results are data, not instructions, so they are only ever quoted (cut short), never acted on. Text is cut in
its middle, not at its end: the platform's servers end an error with what to do about it ("… or AWS credentials
in its environment.", "Nothing was changed."), and a value's end often tells it apart (an id, a query's LIMIT).
"""

from __future__ import annotations

import json
from typing import Any

from apps.agent_core.clipping import clip_middle
from apps.agent_core.gateway.content import ToolContent, block_text, tool_content

__all__ = ["MAX_ANSWER_CHARS", "call_text", "clip", "describe_value", "model_hint"]

MAX_ANSWER_CHARS = 8_000
_MAX_LIST_ITEMS = 5
_MAX_FIELDS = 8
_MAX_VALUE_CHARS = 120
_LABEL_KEYS = ("name", "id", "key", "title", "job_name", "location", "date")


def model_hint() -> str:
    """How to get a model's reasoning instead, with the exact variables (either alone is enough with ``auto``)."""
    return (
        "For a model's reasoning, set AGENTIC_BEDROCK_MODEL_ID=<model or inference profile id>, or "
        "AGENTIC_OPENAI_BASE_URL=<http://host:port/v1> AGENTIC_OPENAI_MODEL=<model> for an OpenAI-compatible "
        "server (a local Ollama or LM Studio is found by itself), and restart the agent core."
    )


def clip(value: Any, limit: int = _MAX_VALUE_CHARS) -> str:
    """``value`` as text of at most ``limit`` characters; a longer one keeps its start and its end."""
    return clip_middle(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str), limit)


def _label(item: Any) -> str:
    if isinstance(item, dict):
        for key in _LABEL_KEYS:
            if isinstance(item.get(key), (str, int, float)):
                return clip(item[key])
        scalars = [v for v in item.values() if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
        return clip(scalars[0]) if scalars else clip(item)
    return clip(item)


def _describe_list(name: str, items: list[Any]) -> str:
    if not items:
        return f"{name}: none"
    shown = ", ".join(_label(item) for item in items[:_MAX_LIST_ITEMS])
    more = f", … ({len(items) - _MAX_LIST_ITEMS} more)" if len(items) > _MAX_LIST_ITEMS else ""
    return f"{name}: {len(items)} ({shown}{more})"


def _describe_rows(columns: list[Any], rows: list[Any]) -> str:
    """Query results as ``rows: 6 (status=delivered, n=1625; …)``: the columns say what each value is."""
    shown = []
    for row in rows[:_MAX_LIST_ITEMS]:
        if isinstance(row, list) and len(row) == len(columns):
            shown.append(", ".join(f"{column}={clip(value, 60)}" for column, value in zip(columns, row, strict=True)))
        else:
            shown.append(clip(row))
    more = f"; … ({len(rows) - _MAX_LIST_ITEMS} more)" if len(rows) > _MAX_LIST_ITEMS else ""
    return f"rows: {len(rows)} ({'; '.join(shown)}{more})" if rows else "rows: none"


def _describe_content(content: ToolContent) -> str:
    """Content blocks as their texts and what the others are, e.g. ``Here it is; [image: image/png, 3.2 KiB]``."""
    facts = [clip(" ".join(block_text(block).split())) for block in content.content[:_MAX_FIELDS]]
    if len(content.content) > _MAX_FIELDS:
        facts.append(f"… ({len(content.content) - _MAX_FIELDS} more blocks)")
    if content.structured is not None:
        facts.append(describe_value(content.structured))
    return "; ".join(facts)


def describe_value(value: Any) -> str:
    """The key facts of a result in one line: list sizes and first items, then a few scalar fields."""
    if (content := tool_content(value)) is not None:
        return _describe_content(content)
    if isinstance(value, list):
        return _describe_list("items", value)
    if not isinstance(value, dict):
        return clip(value) if value is not None else "no result"
    facts: list[str] = []
    columns = value.get("columns")
    for key, item in value.items():
        if isinstance(item, list):
            if key == "rows" and isinstance(columns, list):
                facts.append(_describe_rows(columns, item))
            else:
                facts.append(_describe_list(key, item))
    for key, item in value.items():
        if len(facts) >= _MAX_FIELDS:
            break
        if isinstance(item, dict):
            inner = [f"{k}={clip(v)}" for k, v in item.items() if v is not None and not isinstance(v, (dict, list))]
            if inner:
                facts.append(f"{key}: {', '.join(inner[:_MAX_FIELDS])}")
        elif not isinstance(item, list) and item is not None:
            facts.append(f"{key}: {clip(item)}")
    return "; ".join(facts) if facts else "an empty result"


def call_text(server: str, tool: str, arguments: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in arguments.items())
    return f"{server}.{tool}({shown})"
