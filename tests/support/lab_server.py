"""A small MCP server built with our kit, whose tools tests can time, fail and count.

Used where the real servers' tools would be too slow to script (a 0.3 s tool to show concurrency,
a tool that fails twice then succeeds, a destructive tool whose calls are counted).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, Field

from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.common.settings import McpServerSettings
from apps.common.tools import ToolDef, ToolError
from tests.support.servers import serve_in_thread


class Echoed(BaseModel):
    text: str
    items: list[str] = Field(default_factory=list)


class Scaled(BaseModel):
    target: str
    replicas: int


@dataclass
class LabState:
    calls: Counter[str] = field(default_factory=Counter)
    failures_left: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, tool: str) -> None:
        with self.lock:
            self.calls[tool] += 1


def lab_tools(state: LabState) -> list[ToolDef]:
    async def echo(text: Annotated[str, Field(min_length=1, max_length=200)]) -> Echoed:
        state.count("echo")
        return Echoed(text=text, items=[text, text.upper()])

    async def slow_echo(
        text: Annotated[str, Field(min_length=1, max_length=200)],
        seconds: Annotated[float, Field(ge=0, le=5)] = 0.3,
    ) -> Echoed:
        state.count("slow_echo")
        await asyncio.sleep(seconds)
        return Echoed(text=text)

    async def flaky(key: Annotated[str, Field(min_length=1, max_length=50)]) -> Echoed:
        state.count("flaky")
        with state.lock:
            left = state.failures_left.get(key, 0)
            state.failures_left[key] = max(0, left - 1)
        if left > 0:
            raise ToolError(f"flaky failure for {key}; {left - 1} more to come")
        return Echoed(text=key)

    async def always_fails(reason: Annotated[str, Field(max_length=100)] = "broken") -> Echoed:
        state.count("always_fails")
        raise ToolError(f"always fails: {reason}")

    async def scale(
        target: Annotated[str, Field(min_length=1, max_length=50)],
        replicas: Annotated[int, Field(ge=0, le=20)],
    ) -> Scaled:
        state.count("scale")
        return Scaled(target=target, replicas=replicas)

    return [
        ToolDef(echo, "Echo a text back.", read_only=True),
        ToolDef(slow_echo, "Echo a text after a delay.", read_only=True),
        ToolDef(flaky, "Fail a set number of times for a key, then echo it.", read_only=True),
        ToolDef(always_fails, "Always fail.", read_only=True),
        ToolDef(scale, "Set a target's replica count.", read_only=False, destructive=True, idempotent=True),
    ]


@contextmanager
def run_lab_server(state: LabState | None = None, port: int | None = None) -> Iterator[tuple[str, LabState]]:
    """Serve the lab server; yields (its /mcp URL, its state)."""
    state = state or LabState()
    spec = McpServerSpec(name="lab", service="lab", version="1", instructions="test tools", tools=lab_tools(state))
    with serve_in_thread(create_mcp_app(spec, McpServerSettings()), port=port) as url:
        yield url + "/mcp", state
