"""A stand-in for wttr.in on 127.0.0.1: recorded-style j1 payloads, scriptable failures, a request log.

    with run_fake_wttr() as wttr:
        client = WeatherClient(wttr.base_url)
        ...
        assert wttr.requests[0].path == "/London"

Places are matched case-insensitively after percent-decoding (``/S%C3%A3o%20Paulo`` is "são paulo");
unknown places get wttr.in's 404 "Unknown location" answer. ``fail_next`` and ``hang_next`` script the
next requests; ``set_response`` replaces what one place returns (for malformed payloads).
"""

from __future__ import annotations

import asyncio
import json
import threading
import unicodedata
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread

__all__ = ["FIXTURES", "FakeWttr", "RecordedRequest", "load_fixture", "run_fake_wttr"]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "wttr"
_PLACES = {
    "london": "london.json",
    "seattle": "seattle.json",
    "são paulo": "sao_paulo.json",
    "sao paulo": "sao_paulo.json",
}
_HEALTH_PATH = "/__fake_wttr/health"


def load_fixture(name: str) -> dict[str, Any]:
    """A fixture payload by file stem, e.g. ``load_fixture("london")``."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _place_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    raw_path: str
    """The path exactly as sent, still percent-encoded."""
    query: str
    host: str
    """The Host header the client sent."""

    @property
    def path(self) -> str:
        return unquote(self.raw_path)


@dataclass
class _Script:
    kind: str  # "status" or "hang"
    status: int = 503
    seconds: float = 0.0


@dataclass
class FakeWttr:
    base_url: str
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _log: list[RecordedRequest] = field(default_factory=list)
    _script: deque[_Script] = field(default_factory=deque)
    _overrides: dict[str, tuple[int, str, dict[str, str]]] = field(default_factory=dict)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._log)

    def clear(self) -> None:
        """Forget the log, the script and any overrides."""
        with self._lock:
            self._log.clear()
            self._script.clear()
            self._overrides.clear()

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """The next ``count`` requests answer ``status`` with a short text body."""
        with self._lock:
            self._script.extend(_Script("status", status=status) for _ in range(count))

    def hang_next(self, count: int = 1, seconds: float = 2.0) -> None:
        """The next ``count`` requests stall for ``seconds`` (bounded) before answering normally."""
        with self._lock:
            self._script.extend(_Script("hang", seconds=min(seconds, 10.0)) for _ in range(count))

    def set_response(
        self,
        place: str,
        body: str | dict[str, Any] | list[Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Make ``place`` answer ``body`` (JSON-encoded unless already text) with ``status`` and ``headers``."""
        text = body if isinstance(body, str) else json.dumps(body)
        with self._lock:
            self._overrides[_place_key(place)] = (status, text, dict(headers or {}))

    async def _handle(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("ascii", "replace")
        with self._lock:
            self._log.append(
                RecordedRequest(
                    method=request.method,
                    raw_path=raw_path,
                    query=request.url.query,
                    host=request.headers.get("host", ""),
                )
            )
            step = self._script.popleft() if self._script else None
        if step is not None and step.kind == "status":
            return PlainTextResponse("Service temporarily unavailable", status_code=step.status)
        if step is not None and step.kind == "hang":
            await asyncio.sleep(step.seconds)
        return self._answer(request.path_params["place"])

    def _answer(self, place: str) -> Response:
        key = _place_key(place)
        with self._lock:
            override = self._overrides.get(key)
        if override is not None:
            status, text, headers = override
            return Response(text, status_code=status, headers=headers, media_type="application/json")
        filename = _PLACES.get(key)
        if filename is None:
            return PlainTextResponse(f"Unknown location; please try ~{place}", status_code=404)
        body = (FIXTURES / filename).read_bytes()
        return Response(body, media_type="application/json")


async def _health(_: Request) -> Response:
    return PlainTextResponse("OK")


@contextmanager
def run_fake_wttr() -> Iterator[FakeWttr]:
    """Serve a ``FakeWttr`` on a free 127.0.0.1 port for the duration of the block."""
    fake = FakeWttr(base_url="")
    app = Starlette(routes=[Route(_HEALTH_PATH, _health), Route("/{place:path}", fake._handle)])
    with serve_in_thread(app, ready_path=_HEALTH_PATH) as url:
        fake.base_url = url
        yield fake
