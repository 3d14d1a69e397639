"""A small MCP server built with our kit, whose tools tests can time, fail and count.

Used where the real servers' tools would be too slow to script (a 0.3 s tool to show concurrency,
a tool that fails twice then succeeds, a destructive tool whose calls are counted, a 50 MB result).
``python -m tests.support.lab_server --port N`` serves it as a process of its own. ``LabState.runs``
counts executions per tool and text, so a test can show that no step ran twice; ``idempotency_keys``
lists the key each ``tools/call`` carried in its ``_meta``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.agent_core.gateway.base import IDEMPOTENCY_KEY_META
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
    runs: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(tool, text) → executions that ran to the end."""
    failures_left: dict[str, int] = field(default_factory=dict)
    idempotency_keys: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, tool: str, text: str | None = None) -> None:
        with self.lock:
            self.calls[tool] += 1
            if text is not None:
                self.runs[(tool, text)] += 1


def lab_tools(state: LabState, *, huge: bool = False) -> list[ToolDef]:
    """The lab's tools; ``huge`` adds one returning ~50 MB (only the process started by ``main`` has it, so the
    catalogue other tests assert on stays as it was)."""

    async def echo(text: Annotated[str, Field(min_length=1, max_length=200)]) -> Echoed:
        state.count("echo")
        return Echoed(text=text, items=[text, text.upper()])

    async def slow_echo(
        text: Annotated[str, Field(min_length=1, max_length=200)],
        seconds: Annotated[float, Field(ge=0, le=5)] = 0.3,
    ) -> Echoed:
        await asyncio.sleep(seconds)
        state.count("slow_echo", text)  # counted once it has run to the end, as a real effect would be
        return Echoed(text=text)

    async def flaky(key: Annotated[str, Field(min_length=1, max_length=50)]) -> Echoed:
        state.count("flaky")
        with state.lock:
            left = state.failures_left.get(key, 0)
            state.failures_left[key] = max(0, left - 1)
        if left > 0:
            raise ToolError(f"flaky failure for {key}; {left - 1} more to come", retryable=True)
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

    async def apply(
        change: Annotated[str, Field(min_length=1, max_length=200)],
        seconds: Annotated[float, Field(ge=0, le=10)] = 0.0,
    ) -> Echoed:
        # Counted when it starts: a change that may be half-applied has happened as far as a test is concerned.
        state.count("apply", change)
        await asyncio.sleep(seconds)
        return Echoed(text=change)

    def huge_result(megabytes: Annotated[int, Field(ge=1, le=100)] = 50) -> Echoed:
        # Sync, so it is built in a worker thread as a blocking tool's result would be: what is measured is the
        # kit's handling of the result (conversion, measuring, cutting), not the building of it.
        state.count("huge")
        return Echoed(text="huge", items=[f"{i:09d}" + "x" * (1024 - 9) for i in range(megabytes * 1024)])

    extra = [ToolDef(huge_result, "Return about this many megabytes of items.", read_only=True, name="huge")]
    return [
        *(extra if huge else []),
        ToolDef(echo, "Echo a text back.", read_only=True),
        ToolDef(slow_echo, "Echo a text after a delay.", read_only=True),
        ToolDef(flaky, "Fail a set number of times for a key, then echo it.", read_only=True),
        ToolDef(always_fails, "Always fail.", read_only=True),
        ToolDef(scale, "Set a target's replica count.", read_only=False, destructive=True, idempotent=True),
        ToolDef(apply, "Apply a change (not idempotent).", read_only=False, destructive=True, idempotent=False),
    ]


class RecordIdempotencyKeys:
    """ASGI middleware: notes the idempotency key of every ``tools/call``, then passes the request on."""

    def __init__(self, app: ASGIApp, state: LabState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        try:
            body = json.loads(b"".join(m.get("body", b"") for m in messages))
            key = body["params"]["_meta"][IDEMPOTENCY_KEY_META] if body.get("method") == "tools/call" else None
        except (ValueError, KeyError, TypeError, AttributeError):
            key = None
        if key is not None:
            with self.state.lock:
                self.state.idempotency_keys.append(str(key))

        async def replayed() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replayed, send)


@contextmanager
def run_lab_server(state: LabState | None = None, port: int | None = None) -> Iterator[tuple[str, LabState]]:
    """Serve the lab server; yields (its /mcp URL, its state)."""
    state = state or LabState()
    spec = McpServerSpec(name="lab", service="lab", version="1", instructions="test tools", tools=lab_tools(state))
    app = RecordIdempotencyKeys(create_mcp_app(spec, McpServerSettings()), state)
    with serve_in_thread(app, port=port) as url:
        yield url + "/mcp", state


def main() -> None:
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the lab MCP server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    flags = parser.parse_args()
    spec = McpServerSpec(
        name="lab", service="lab", version="1", instructions="test tools", tools=lab_tools(LabState(), huge=True)
    )
    uvicorn.run(create_mcp_app(spec, McpServerSettings()), host=flags.host, port=flags.port, log_level="warning")


if __name__ == "__main__":
    main()
