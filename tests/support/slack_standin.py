"""A Slack-compatible incoming webhook on 127.0.0.1 that records what it is sent, and can fail or hang on purpose.

``with run_slack_standin(fail_first=2) as slack:`` → ``slack.url`` (a webhook URL shaped like Slack's),
``slack.received`` (the JSON bodies it accepted, in order), ``slack.requests`` (every POST, accepted or not).
It answers as Slack does: 200 ``ok``, or 400 ``no_text`` for a message with neither ``text`` nor ``blocks``;
the first ``fail_first`` POSTs get 503, and each POST waits ``hang_seconds`` before any answer. Any path is
accepted, so one stand-in also serves as a generic JSON webhook (``slack.url_for("audit")``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread

WEBHOOK_PATH = "/services/T0000STAND/B0000STAND/standinSecretToken0001"


@dataclass
class SlackStandIn:
    base_url: str = ""
    fail_first: int = 0
    hang_seconds: float = 0.0
    received: list[Any] = field(default_factory=list)
    requests: int = 0
    paths: list[str] = field(default_factory=list)
    """The path of each accepted body, in the order of ``received``."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.base_url + WEBHOOK_PATH

    def url_for(self, name: str) -> str:
        return f"{self.base_url}/hooks/{name}"


def _app(standin: SlackStandIn) -> Starlette:
    async def health(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def webhook(request: Request) -> Response:
        raw = await request.body()
        with standin.lock:
            standin.requests += 1
            failing = standin.requests <= standin.fail_first
        if standin.hang_seconds:
            await asyncio.sleep(standin.hang_seconds)
        if failing:
            return PlainTextResponse("service_unavailable", status_code=503)
        try:
            body = json.loads(raw)
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if request.url.path == WEBHOOK_PATH and not (
            isinstance(body, dict) and (body.get("text") or body.get("blocks"))
        ):
            return PlainTextResponse("no_text", status_code=400)
        with standin.lock:
            standin.received.append(body)
            standin.paths.append(request.url.path)
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/health", health, methods=["GET"]), Route("/{path:path}", webhook, methods=["POST"])]
    )


@contextmanager
def run_slack_standin(*, fail_first: int = 0, hang_seconds: float = 0.0) -> Iterator[SlackStandIn]:
    standin = SlackStandIn(fail_first=fail_first, hang_seconds=hang_seconds)
    with serve_in_thread(_app(standin)) as base_url:
        standin.base_url = base_url
        yield standin
