"""Finding a local OpenAI-compatible model server, for ``AGENTIC_REASONER=auto`` with nothing configured.

Ollama (port 11434) and LM Studio (port 1234) both serve the OpenAI API under ``/v1`` on the loopback
interface, and list their models at ``GET /v1/models`` (``{"object": "list", "data": [{"id": …}, …]}``,
the OpenAI shape). The probe asks each configured port in order, with a short timeout, and takes
the first model the first answering server lists. Only 127.0.0.1 is ever asked: nothing leaves the
machine, and a port where nothing listens is refused at once.

``LocalModelProbe`` asks again for ``/api/health``: a model server started after the agent core is seen
(and used after a restart). Its answer is kept for ``CACHE_SECONDS``, so a health page polled by many
browsers costs at most one probe per interval, in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import httpx
from pydantic import BaseModel

__all__ = [
    "CACHE_SECONDS",
    "DEFAULT_LOCAL_MODEL_PORTS",
    "PROBE_TIMEOUT_SECONDS",
    "LocalModel",
    "LocalModelProbe",
    "LocalModelReport",
    "find_local_model",
]

DEFAULT_LOCAL_MODEL_PORTS = (11434, 1234)
"""Ollama, then LM Studio."""
PROBE_TIMEOUT_SECONDS = 0.5
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class LocalModel:
    base_url: str
    """Ends in ``/v1``, as OpenAI clients are configured."""
    model: str


def _first_model(payload: Any) -> str | None:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return None
    ids = [entry.get("id") for entry in data if isinstance(entry, dict)]
    return next((model for model in ids if isinstance(model, str) and model.strip()), None)


def find_local_model(
    ports: Sequence[int] = DEFAULT_LOCAL_MODEL_PORTS, *, timeout: float = PROBE_TIMEOUT_SECONDS
) -> LocalModel | None:
    """The first model of the first server answering ``GET /v1/models`` on 127.0.0.1, or None."""
    with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as client:
        for port in ports:
            base_url = f"http://127.0.0.1:{port}/v1"
            try:
                response = client.get(f"{base_url}/models")
                model = _first_model(response.json()) if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                continue
            if model is not None:
                return LocalModel(base_url, model)
    return None


class DetectedModel(BaseModel):
    base_url: str
    model: str


class LocalModelReport(BaseModel):
    """What a fresh look for a local model server found (``/api/health``)."""

    ports: list[int]
    """The loopback ports asked (``AGENTIC_LOCAL_MODEL_PORTS``)."""
    detected: DetectedModel | None
    """The first model of the first server answering; ``None`` when none answered."""
    checked_at: float
    """Epoch seconds of the probe this answer comes from (answers are kept for ``CACHE_SECONDS``)."""


class LocalModelProbe:
    """Looks for a local model server at most once per ``cache_seconds``; callers meanwhile share the answer."""

    def __init__(
        self,
        ports: Sequence[int] = DEFAULT_LOCAL_MODEL_PORTS,
        *,
        timeout: float = PROBE_TIMEOUT_SECONDS,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ports = list(ports)
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._last: tuple[float, LocalModelReport] | None = None
        self._probing = asyncio.Lock()

    async def report(self) -> LocalModelReport:
        async with self._probing:  # callers arriving during a probe wait for it instead of probing again
            if self._last is not None and self._clock() - self._last[0] < self._cache_seconds:
                return self._last[1]
            # Bounded: each port is refused at once or answers within the timeout, in a worker thread.
            found = await anyio.to_thread.run_sync(lambda: find_local_model(self._ports, timeout=self._timeout))
            report = LocalModelReport(
                ports=self._ports,
                detected=DetectedModel(base_url=found.base_url, model=found.model) if found else None,
                checked_at=time.time(),
            )
            self._last = (self._clock(), report)
            return report
