"""Whether a failed tool call may succeed if sent again, carried from the failure to its result's ``_meta``.

A tool says so when it raises (``ToolError(..., retryable=True)``), but the SDK turns the exception into an
``isError`` result out of the kit's sight: the message survives, the flag does not. So the guard
(``tool_calls.ToolCallGuard``) opens a slot for each call (``verdict_slot``), the kit's tool class
(``off_loop_tool.OffLoopTool``) notes there what the failure it saw means (``note_failure``), and the guard
writes the verdict into the error result (``with_retryable``). The slot is a mutable object in a context
variable, so it is shared with whatever task or thread the SDK runs the tool in.

What the verdict is, by the failure:

- a ``ToolError`` of the kit's: its own ``retryable`` (false unless the tool said otherwise);
- the SDK's own ``ToolError`` (arguments that fail the tool's pydantic model, a resolver's refusal): false,
  the same arguments fail the same way;
- a crash (``UnexpectedToolError``): ``CRASH_RETRYABLE``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import UnexpectedToolError

from apps.common.tools import RETRYABLE_META, ToolError

__all__ = ["CRASH_RETRYABLE", "Verdict", "failure_retryable", "note_failure", "verdict_slot", "with_retryable"]

CRASH_RETRYABLE = True
"""A crash is an exception no one classified: a bug, or a transient fault no classifier names (a connection
reset deep in a client library). The kit cannot tell which, so it keeps the caller's own retry budget in
charge, as before this flag existed: a wrong ``true`` costs the retries the workflow's author allowed, a wrong
``false`` fails a step that one more attempt would have completed."""


@dataclass
class Verdict:
    """What the guard writes into an error result of one call."""

    retryable: bool = False
    """False until a failure is noted: an error result with no failure behind it is the cap's (a result too
    large to return), and the same call would be as large again."""


_SLOT: ContextVar[Verdict | None] = ContextVar("tool_call_verdict", default=None)


@contextmanager
def verdict_slot() -> Iterator[Verdict]:
    """A fresh verdict for the tool call made inside the block."""
    verdict = Verdict()
    token = _SLOT.set(verdict)
    try:
        yield verdict
    finally:
        _SLOT.reset(token)


def failure_retryable(exc: BaseException) -> bool:
    """Whether the call that failed with ``exc`` (as the SDK raises it) may succeed if sent again."""
    if isinstance(exc, UnexpectedToolError):
        return CRASH_RETRYABLE
    cause: BaseException | None = exc
    while cause is not None:  # the SDK wraps a tool's ToolError in its own, the tool's as the cause
        if isinstance(cause, ToolError):
            return cause.retryable
        cause = cause.__cause__
    return False


def note_failure(exc: BaseException) -> None:
    """Record what ``exc`` means for the call in progress; outside a guarded call (a test), nothing."""
    verdict = _SLOT.get()
    if verdict is not None:
        verdict.retryable = failure_retryable(exc)


def with_retryable(result: dict[str, Any], retryable: bool) -> dict[str, Any]:
    """``result`` (a wire dict) with ``RETRYABLE_META`` in its ``_meta``, unless the tool set it itself."""
    meta = result.get("_meta")
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta.setdefault(RETRYABLE_META, retryable)
    return {**result, "_meta": meta}
