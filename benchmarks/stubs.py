"""Processes the benchmarks run beside the platform: ``python -m benchmarks.stubs NAME --port P``.

- ``model``: an instant, stateless, scripted OpenAI-compatible endpoint. The task text says what to
  ask for (``bench tool=wait calls=4 turns=1 ms=200``); each answer is decided from the conversation
  alone (how many tool turns it already holds), so any number of runs can share it concurrently.
- ``hello``: the smallest Starlette app on uvicorn, the baseline for a service's start time and memory.
- ``moto``: moto's ``ThreadedMotoServer`` (DynamoDB for the store benchmark), away from our GIL.
- ``core``: the agent core exactly as ``python -m apps.agent_core`` builds it, with the run store's
  methods timed; ``GET /__bench/store`` returns the totals (seconds and calls per method).
"""

from __future__ import annotations

import argparse
import functools
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

STORE_METHODS = ("create", "get", "update", "list", "append_event", "events", "expired_leases")


def parse_task(text: str) -> dict[str, str]:
    """``bench tool=wait calls=4 turns=1 ms=200`` → its settings."""
    return dict(part.split("=", 1) for part in text.split() if "=" in part)


def scripted_answer(body: dict[str, Any]) -> dict[str, Any]:
    """The assistant message for this conversation: the next tool turn, or the final text."""
    messages = body.get("messages") or []
    task = next((str(m.get("content") or "") for m in messages if m.get("role") == "user"), "")
    settings = parse_task(task)
    turns_done = sum(1 for m in messages if m.get("role") == "assistant" and m.get("tool_calls"))
    if turns_done >= int(settings.get("turns", "1")):
        return {"role": "assistant", "content": f"done after {turns_done} tool turns"}
    tool = settings.get("tool", "echo")
    arguments = {"ms": int(settings.get("ms", "0"))} if tool == "wait" else {"text": "bench"}
    calls = [
        {
            "id": f"call_{uuid.uuid4().hex[:20]}",
            "type": "function",
            "function": {"name": f"{settings.get('server', 'lab')}__{tool}", "arguments": json.dumps(arguments)},
        }
        for _ in range(int(settings.get("calls", "1")))
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}


def model_app() -> Starlette:
    async def complete(request: Request) -> Response:
        body = json.loads(await request.body())
        message = scripted_answer(body)
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if "tool_calls" in message else "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        )

    return Starlette(routes=[Route("/v1/chat/completions", complete, methods=["POST"]), _health_route()])


def hello_app() -> Starlette:
    return Starlette(routes=[_health_route(), Route("/ready", _ok, methods=["GET"])])


async def _ok(_: Request) -> Response:
    return PlainTextResponse("OK")


def _health_route() -> Route:
    return Route("/health", _ok, methods=["GET"])


class StoreTimer:
    """Wraps the store classes' methods so every call adds to a per-method total."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def patch(self, cls: type) -> None:
        for name in STORE_METHODS:
            original = getattr(cls, name, None)
            if original is not None:
                setattr(cls, name, self._timed(name, original))

    def _timed(self, name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[name] += time.perf_counter() - started
                    self.calls[name] += 1

        return timed

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {"seconds": dict(self.seconds), "calls": dict(self.calls)}


def timed_core_app() -> ASGIApp:
    from apps.agent_core.app import create_app
    from apps.agent_core.settings import AgentCoreSettings
    from apps.agent_core.store.dynamodb import DynamoDBRunStore
    from apps.agent_core.store.sqlite import SqliteRunStore
    from apps.common.logging import configure_logging
    from apps.common.settings import load_settings

    timer = StoreTimer()
    timer.patch(SqliteRunStore)
    timer.patch(DynamoDBRunStore)
    settings = load_settings(AgentCoreSettings)
    configure_logging(settings.log_level)
    core = create_app(settings)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/__bench/store":
            await JSONResponse(timer.report())(scope, receive, send)
            return
        await core(scope, receive, send)

    return app


def serve_moto(host: str, port: int) -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    threading.Event().wait()  # until terminated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=["model", "hello", "moto", "core"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.name == "moto":
        serve_moto(args.host, args.port)
        return
    builders: dict[str, Callable[[], ASGIApp]] = {"model": model_app, "hello": hello_app, "core": timed_core_app}
    uvicorn.run(builders[args.name](), host=args.host, port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
