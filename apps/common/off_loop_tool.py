"""The SDK's ``Tool`` with large return values converted in a worker thread instead of on the event loop.

After a tool returns, the SDK validates the value against its output model and serializes it to JSON
text (``FuncMetadata.convert_result``), synchronously, on the event loop: about 0.15 s for a 50 MB
result on this machine, during which the server answers nothing, ``/health`` included. A value that
``estimated_size`` (a walk bounded by ``OFF_LOOP_BYTES``, so cheap for small values) finds large is
converted in a worker thread instead; small ones stay on the loop, where a thread hop would cost more
than the conversion. Errors are reported exactly as ``Tool.run`` reports them, and noted for the guard,
which adds to their result whether a retry may help (``retryable.py``).

A worker thread alone is not enough: one long call into C or Rust holds the interpreter's lock, and the
loop with it. The SDK writes the text copy of a result with one ``pydantic_core.to_json`` call (about
90 ms for 50 MB, the whole stall); even joining 50 MB of pieces into one string costs ~60 ms of page
faults on this machine. So for a large value with structured output the SDK is handed a
``CallToolResult`` whose structured content it still validates against the tool's output schema, and
whose text copy is written here: when the value is over ``result_limit`` (the server's
``AGENTIC_MAX_RESULT_BYTES``) the guard will replace that copy with the cut result's own, so a short
placeholder stands in; otherwise it is written a piece at a time (``json``'s pure-Python ``iterencode``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import pydantic_core
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from apps.common.result_cap import OFF_LOOP_BYTES, estimated_size
from apps.common.retryable import note_failure

if TYPE_CHECKING:
    from mcp.server.context import LifespanContextT, RequestT
    from mcp.server.mcpserver.context import Context

__all__ = ["OVER_CAP_TEXT", "OffLoopTool"]

OVER_CAP_TEXT = "(a result cut to fit by the server: over"
"""Starts the text copy of a result over the cap; the guard cuts such a result off the loop."""

# indent=2 as the SDK's text copy has it; an indented encoder is json's pure-Python one, yielding piece by piece.
_INDENTED = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
_PIECES_PER_JOIN = 4096


def _joined(pieces: Iterator[str]) -> str:
    """``"".join(pieces)`` in steps: joining (and freeing) a million small pieces at once holds the lock for ~50 ms."""
    groups: list[str] = []
    group: list[str] = []
    for piece in pieces:
        group.append(piece)
        if len(group) >= _PIECES_PER_JOIN:
            groups.append("".join(group))
            group = []
    groups.append("".join(group))
    return "".join(groups)


class OffLoopTool(Tool):
    result_limit: int | None = None
    """The server's result cap, when the kit's guard applies it to this tool's results."""

    @classmethod
    def from_function(cls, fn: Callable[..., Any], *args: Any, result_limit: int | None = None, **kwargs: Any) -> Tool:
        tool = super().from_function(fn, *args, **kwargs)
        tool.result_limit = result_limit  # type: ignore[attr-defined]
        return tool

    async def run(
        self,
        arguments: dict[str, Any],
        context: Context[LifespanContextT, RequestT],
        convert_result: bool = False,
    ) -> Any:
        try:
            return await self._run(arguments, context, convert_result)
        except ToolError as exc:
            # The SDK makes the result of this failure itself; the guard adds whether a retry may help.
            note_failure(exc)
            raise

    async def _run(
        self, arguments: dict[str, Any], context: Context[LifespanContextT, RequestT], convert_result: bool
    ) -> Any:
        result = await super().run(arguments, context, convert_result=False)
        if not convert_result:
            return result
        try:
            if estimated_size(result, OFF_LOOP_BYTES) <= OFF_LOOP_BYTES:
                return self.fn_metadata.convert_result(result)
            return await anyio.to_thread.run_sync(self._convert_large, result)
        except MCPError:
            raise
        except ToolError as exc:
            raise ToolError(f"Error executing tool {self.name}: {exc}") from exc
        except Exception as exc:
            # As Tool.run: a value that fails its output schema is a crash, and its text stays on the server.
            raise UnexpectedToolError(f"Error executing tool {self.name}") from exc

    def _convert_large(self, result: Any) -> Any:
        """``convert_result`` for a large value, with no single long call holding the interpreter's lock."""
        if not isinstance(result, BaseModel | dict) or isinstance(result, CallToolResult):
            return self.fn_metadata.convert_result(result)  # content blocks, text and the like: the SDK's way
        data = pydantic_core.to_jsonable_python(result, by_alias=True, fallback=str)  # shares strings: quick
        structured = None
        if self.output_schema is not None:
            structured = {"result": data} if self.fn_metadata.wrap_output else data
        if (
            structured is not None
            and self.result_limit is not None
            and estimated_size(data, self.result_limit) > (self.result_limit)
        ):
            # Over the cap: the guard cuts the structured content and writes the text copy from what it keeps.
            text = f"{OVER_CAP_TEXT} {self.result_limit} bytes)"
        else:
            text = _joined(_INDENTED.iterencode(data))
        converted = CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)
        # The SDK validates a CallToolResult's structured content against the output schema, as for any value.
        return self.fn_metadata.convert_result(converted)
