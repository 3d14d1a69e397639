"""How a server declares a tool: the function, what it does, and what it may touch.

A tool function takes keyword arguments typed with ``Annotated[..., Field(...)]`` so its input
schema carries bounds, and returns a pydantic model so it has an output schema. Anticipated
failures (bad arguments, AccessDenied, a missing object) raise ``ToolError`` with a message
that tells the model how to correct the call; the kit turns them into ``isError`` results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

__all__ = ["ToolDef", "ToolError"]


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
