"""The one place every tool call passes through: argument checks, timeout, output cap, metrics, log.

Every error result leaving it says whether the same call may succeed if sent again (``retryable.py``): the
guard's own refusals of the arguments and an unknown tool's name will not, a call past its timeout may.

It runs as SDK middleware (``MCPServer.middleware``), so it sees each ``tools/call`` the same way on
both protocol revisions, and the SDK keeps doing what it does well: JSON-RPC framing, sessions,
result conversion.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from jsonschema import Draft202012Validator, ValidationError, validators
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from apps.common.argument_sizes import oversized, size_limits
from apps.common.fast_schema import Check, compile_check, matches_pattern
from apps.common.metrics import McpMetrics
from apps.common.off_loop_tool import OVER_CAP_TEXT
from apps.common.result_cap import OFF_LOOP_BYTES, cap_result
from apps.common.retryable import verdict_slot, with_retryable
from apps.common.tools import RETRYABLE_META

log = logging.getLogger("apps.tool_calls")

_MAX_PROBLEMS = 10
_MAX_PROBLEM_CHARS = 200


def _pydantic_pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``pattern`` as the tools' own pydantic models read it.

    jsonschema matches with Python's ``re.search``, where ``$`` also matches before a final newline, so
    ``"agentic\n"`` passed ``^[a-z0-9-]+$`` here and then failed inside the SDK with a raw pydantic
    report. Checking with pydantic's engine makes the guard refuse exactly what the tool would.
    """
    if validator.is_type(instance, "string") and not matches_pattern(pattern, instance):
        yield ValidationError(f"{instance[:80]!r} does not match {pattern!r}")


def _closed_pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``patternProperties`` as pydantic means it for ``dict[Annotated[str, pattern], ...]``: keys must match.

    JSON Schema lets other keys through unless ``additionalProperties`` says otherwise, and pydantic writes
    no ``additionalProperties`` for such a dict, so ``{"nope": 1}`` passed here and then failed inside the
    SDK with a raw pydantic report.
    """
    yield from _DEFAULT_PATTERN_PROPERTIES(validator, patterns, instance, schema)
    if not validator.is_type(instance, "object") or "additionalProperties" in schema or "properties" in schema:
        return
    for key in instance:
        if not any(matches_pattern(pattern, key) for pattern in patterns):
            yield ValidationError(f"the key {key[:80]!r} does not match {' or '.join(map(repr, patterns))}")


_DEFAULT_PATTERN_PROPERTIES = Draft202012Validator.VALIDATORS["patternProperties"]
# jsonschema ships no types for extend(); the class it makes is a Draft202012Validator with two keywords swapped.
ArgumentValidator: type[Draft202012Validator] = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _pydantic_pattern, "patternProperties": _closed_pattern_properties}
)


def error_result(text: str, *, retryable: bool) -> CallToolResult:
    # A model, not a dict: the SDK serializes it for whichever revision the caller speaks.
    return CallToolResult(
        content=[TextContent(type="text", text=text)], is_error=True, _meta={RETRYABLE_META: retryable}
    )


@dataclass(frozen=True)
class ToolPolicy:
    """What the guard needs to know of one tool: its arguments and how long it may take."""

    name: str
    input_schema: Mapping[str, Any]
    timeout_seconds: float
    validator: Draft202012Validator
    """An ``ArgumentValidator``: Draft 2020-12 with pydantic's reading of ``pattern``."""
    quick_check: Check | None = None
    """Says quickly that arguments are valid (see fast_schema.py); ``jsonschema`` lists what is wrong."""
    size_limits: Mapping[str, Mapping[type, int]] = field(default_factory=dict)
    """Checked before ``jsonschema``, whose cost grows with every element (see argument_sizes.py)."""

    @classmethod
    def for_tool(cls, name: str, input_schema: Mapping[str, Any], timeout_seconds: float) -> ToolPolicy:
        schema = dict(input_schema)
        return cls(
            name,
            input_schema,
            timeout_seconds,
            ArgumentValidator(schema),
            compile_check(schema),
            size_limits(schema),
        )

    def argument_problems(self, arguments: Mapping[str, Any]) -> list[str]:
        """Every way ``arguments`` break the input schema, phrased for a model to fix."""
        known = self.input_schema.get("properties", {})
        problems = [
            f"unknown argument {name!r} (this tool takes: {', '.join(sorted(known)) or 'no arguments'})"
            for name in arguments
            if name not in known
        ]
        # Sizes first: a top-level length check, where both checks below would walk a huge array whole.
        too_big = oversized(arguments, self.size_limits)
        if too_big:
            return (problems + too_big)[:_MAX_PROBLEMS]
        if self.quick_check is not None and self.quick_check(arguments):
            return problems[:_MAX_PROBLEMS]
        for error in self.validator.iter_errors(dict(arguments)):
            where = ".".join(str(part) for part in error.absolute_path) or "arguments"
            message = error.message
            if len(message) > _MAX_PROBLEM_CHARS:
                # jsonschema starts with the offending value ("[0, 0, …] is too long"): shorten the value,
                # not the end of the message, which says what is wrong.
                value = repr(error.instance)
                if value in message:
                    message = message.replace(value, value[:60] + "…", 1)
                if len(message) > _MAX_PROBLEM_CHARS:
                    message = message[:_MAX_PROBLEM_CHARS] + "…"
            problems.append(f"{where}: {message}")
        return problems[:_MAX_PROBLEMS]


def _as_wire_dict(result: HandlerResult) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(result or {})


def _wire_and_cap(result: HandlerResult, max_bytes: int, tool: str, *, small: bool) -> tuple[dict[str, Any], bool]:
    return cap_result(_as_wire_dict(result), max_bytes, tool, small=small)


def _is_large(result: HandlerResult) -> bool:
    """Whether measuring and cutting ``result`` belongs in a worker thread, told from its content blocks alone.

    A result of one of the kit's tools carries its data as JSON text (the SDK writes it; ``OffLoopTool`` too), so
    the blocks' lengths say how large it is without walking the data; a result over the cap says so in its text.
    """
    blocks = getattr(result, "content", None) if isinstance(result, BaseModel) else (result or {}).get("content")
    total = 0
    for block in blocks if isinstance(blocks, list) else ():
        for name in ("text", "data"):
            value = block.get(name) if isinstance(block, dict) else getattr(block, name, None)
            if isinstance(value, str):
                if value.startswith(OVER_CAP_TEXT):
                    return True
                total += len(value)
    return total > OFF_LOOP_BYTES // 2


def _request_id(ctx: ServerRequestContext[Any, Any]) -> str | None:
    headers = getattr(ctx.request, "headers", None)
    supplied = headers.get("x-request-id") if headers is not None else None
    if supplied:
        return str(supplied)[:128]
    return None if ctx.request_id is None else str(ctx.request_id)


class ToolCallGuard:
    """SDK middleware applying the kit's rules to every ``tools/call``."""

    def __init__(
        self, *, server: str, policies: Mapping[str, ToolPolicy], metrics: McpMetrics, max_result_bytes: int
    ) -> None:
        self.server = server
        self.policies = dict(policies)
        self.metrics = metrics
        self.max_result_bytes = max_result_bytes

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        started = time.perf_counter()
        params = ctx.params or {}
        name = params.get("name")
        arguments = params.get("arguments") or {}
        policy = self.policies.get(name) if isinstance(name, str) else None
        # Unknown names are not used as a label: callers must not be able to grow the metric series.
        label = policy.name if policy else "unknown"
        outcome = "error"
        truncated = False
        try:
            if not isinstance(name, str):
                outcome = "invalid_arguments"
                return await call_next(ctx)  # no name, or not a string: the SDK answers -32602 Invalid params
            if policy is None:
                outcome = "unknown_tool"
                return error_result(
                    f"Unknown tool {str(name)[:64]!r}. This server's tools are: {', '.join(sorted(self.policies))}.",
                    retryable=False,
                )
            if not isinstance(arguments, Mapping):
                outcome = "invalid_arguments"
                return await call_next(ctx)  # not an object: a protocol fault the SDK answers with -32602
            problems = policy.argument_problems(arguments)
            if problems:
                outcome = "invalid_arguments"
                return error_result(
                    f"Invalid arguments for {policy.name}: " + "; ".join(problems) + ". "
                    f"Correct them and call {policy.name} again; its input schema lists each argument and its bounds.",
                    retryable=False,
                )
            with verdict_slot() as verdict, anyio.move_on_after(policy.timeout_seconds) as deadline:
                raw = await call_next(ctx)
            if deadline.cancelled_caught:
                outcome = "timeout"
                return error_result(
                    f"{policy.name} timed out after {policy.timeout_seconds:g} s and was abandoned. "
                    "Narrow the call (a smaller scope or limit) or try again later.",
                    retryable=True,
                )
            # Measuring and cutting cost time in proportion to the result: a large one (a 50 MB listing) is
            # handled in a worker thread, so the loop keeps serving other calls and /health meanwhile.
            if _is_large(raw):
                cap = functools.partial(_wire_and_cap, raw, self.max_result_bytes, policy.name, small=False)
                result, truncated = await anyio.to_thread.run_sync(cap)
            else:
                result, truncated = _wire_and_cap(raw, self.max_result_bytes, policy.name, small=True)
            if not result.get("isError"):
                outcome = "ok"
                return result
            return with_retryable(result, verdict.retryable)
        except Exception:
            outcome = "exception"
            raise
        finally:
            duration = self.metrics.record_tool_call(label, outcome, started)
            log.info(
                "tool call",
                extra={
                    "server": self.server,
                    "tool": label,
                    "outcome": outcome,
                    "duration_ms": round(duration * 1000, 3),
                    "truncated": truncated,
                    "request_id": _request_id(ctx),
                },
            )
