"""A scripted tool executor and turn recorder, shared by the reasoner tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apps.agent_core.model import ModelTurn, ToolCall, ToolOutcome, ToolSpec

Handler = Callable[[ToolCall], ToolOutcome]


def spec(
    server: str, name: str, *, read_only: bool = True, description: str | None = None, **properties: str
) -> ToolSpec:
    """A small ToolSpec; keyword arguments are string properties (all required) with their descriptions."""
    return ToolSpec(
        server=server,
        name=name,
        description=f"The {name} tool." if description is None else description,
        input_schema={
            "type": "object",
            "properties": {key: {"type": "string", "description": text} for key, text in properties.items()},
            "required": list(properties),
        },
        read_only=read_only,
        destructive=not read_only,
    )


@dataclass
class Executor:
    """Answers each call from ``handlers`` by MCP name, concurrently, optionally after ``delay`` seconds."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    delay: float = 0.0
    batches: list[list[ToolCall]] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    turns_seen: list[int] = field(default_factory=list)
    """How many turns had been recorded when each batch arrived."""
    recorder: TurnLog | None = None

    async def __call__(self, calls: list[ToolCall]) -> list[ToolOutcome]:
        self.batches.append(list(calls))
        self.turns_seen.append(len(self.recorder.turns) if self.recorder else -1)
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(self._one(call) for call in calls))
        self.durations.append(time.perf_counter() - started)
        return list(outcomes)

    async def _one(self, call: ToolCall) -> ToolOutcome:
        if self.delay:
            await asyncio.sleep(self.delay)
        handler = self.handlers.get(call.tool)
        if handler is None:
            return ToolOutcome(call_id=call.id, ok=True, result={"echo": call.arguments})
        return handler(call)

    @property
    def calls(self) -> list[ToolCall]:
        return [call for batch in self.batches for call in batch]


@dataclass
class TurnLog:
    turns: list[ModelTurn] = field(default_factory=list)

    async def __call__(self, turn: ModelTurn) -> None:
        self.turns.append(turn)


def ok(result: Any) -> Handler:
    return lambda call: ToolOutcome(call_id=call.id, ok=True, result=result)


def failing(error: str) -> Handler:
    return lambda call: ToolOutcome(call_id=call.id, ok=False, error=error)


@dataclass
class Sleeps:
    """An injectable ``sleep`` that only records the delays asked for."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def conversation_tools() -> list[ToolSpec]:
    """Three tools on three servers; one MCP name has a dot, which model-facing names cannot."""
    return [
        spec("aws", "list_s3_buckets", description="List S3 buckets."),
        spec("custom", "kv.get", description="Read the value stored under a key.", key="The key"),
        spec("kubernetes", "list_pods", description="", namespace="The namespace"),
    ]


def conversation_executor(recorder: TurnLog, *, delay: float = 0.0) -> Executor:
    return Executor(
        handlers={
            "list_s3_buckets": ok({"buckets": [{"name": "alpha"}, {"name": "beta"}], "truncated": False}),
            "kv.get": failing("No value is stored under 'missing'."),
            "list_pods": ok("web-1 Running"),
        },
        delay=delay,
        recorder=recorder,
    )
