"""How a server declares a tool: the function, what it does, and what it may touch.

A tool function takes keyword arguments typed with ``Annotated[..., Field(...)]`` so its input
schema carries bounds, and returns a pydantic model so it has an output schema. Anticipated
failures (bad arguments, AccessDenied, a missing object) raise ``ToolError`` with a message
that tells the model how to correct the call; the kit turns them into ``isError`` results.

Every error result of the kit's servers says in its ``_meta`` (``RETRYABLE_META``) whether sending the
same call again may succeed, so a caller that retries (a workflow step) need not try what cannot work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError as SdkToolError
from mcp_types import ToolAnnotations

__all__ = ["RETRYABLE_META", "ToolDef", "ToolError"]

RETRYABLE_META = "agentic-workflows/retryable"
"""The ``_meta`` key of an error result: ``true`` when the same call may succeed later, ``false`` when it will not."""


class ToolError(SdkToolError):
    """An anticipated failure, with a message that tells the model what to do about it.

    ``retryable`` says whether the same call, sent again, may succeed. False by default: bad arguments,
    access denied, a missing object or a disabled feature fail the same way every time. True for what
    passes: throttling, a timeout, a 5xx or an unavailable service, a failed connection, a busy pool.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class ToolDef:
    """One tool of an MCP server; the annotations must tell the truth about its effects."""

    fn: Callable[..., Any]
    description: str
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False
    name: str | None = None
    timeout_seconds: float | None = None
    """Overrides the server's per-tool timeout, for tools that are slow by nature."""

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise ValueError(f"tool {self.tool_name!r} needs a description: models choose tools by it")
        if self.read_only and self.destructive:
            raise ValueError(f"tool {self.tool_name!r} cannot be both read-only and destructive")

    @property
    def tool_name(self) -> str:
        return self.name or self.fn.__name__

    @property
    def annotations(self) -> ToolAnnotations:
        # MCP reads destructive/idempotent only when readOnlyHint is false; stating them anyway
        # keeps every client's view the same.
        return ToolAnnotations(
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent or self.read_only,
            open_world_hint=self.open_world,
        )
