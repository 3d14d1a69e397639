"""Sending one notification to one sink: a JSON POST, retried with exponential backoff within a bounded time.

Retried: no answer within the per-request timeout, a connection error, 408, 425, 429 (after its
``Retry-After`` when that fits the time left) and 5xx. Not retried: any other answer, such as Slack's 400
``invalid_payload`` or 404 ``no_service`` (a revoked webhook), which sending again cannot change. Errors are
written without the sink's URL (``Sink.redact``): a Slack webhook URL is a credential.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from apps.agent_core.clipping import clip_middle
from apps.agent_core.triggers.notify.sinks import Sink

RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
ERROR_CHARS = 300


@dataclass(frozen=True)
class DeliveryPolicy:
    attempts: int = 4
    timeout_seconds: float = 5.0
    """For one request, from connecting to the last byte of the answer."""
    backoff_seconds: float = 1.0
    """Before the second attempt; doubled before each next one (with jitter, so replicas spread out)."""
    max_backoff_seconds: float = 15.0
    total_seconds: float = 60.0
    """All attempts and waits of one notification: past this it is given up and journaled as failed."""


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    error: str | None = None


Sleep = Callable[[float], Awaitable[None]]


async def send(
    client: httpx.AsyncClient, sink: Sink, body: dict[str, Any], policy: DeliveryPolicy, sleep: Sleep = asyncio.sleep
) -> Delivery:
    """POST ``body`` to ``sink`` until it is accepted (2xx), refused for good, or the attempts or time run out."""
    deadline = time.monotonic() + policy.total_seconds
    error = "no attempt fitted in the time allowed"
    attempt = 0
    while attempt < policy.attempts:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        attempt += 1
        wait: float | None = None
        timeout = min(policy.timeout_seconds, remaining)
        try:
            async with asyncio.timeout(timeout):  # the whole exchange: httpx's own timeouts are per read
                response = await client.post(sink.url.get_secret_value(), json=body)
        except TimeoutError:
            error = f"no answer within {timeout:.3g} s"
        except httpx.HTTPError as exc:
            error = sink.redact(f"{exc.__class__.__name__}: {exc}")
        else:
            if response.is_success:
                return Delivery(ok=True, attempts=attempt)
            said = clip_middle(sink.redact(response.text.strip()), ERROR_CHARS)
            error = f"HTTP {response.status_code}" + (f": {said}" if said else "")
            if response.status_code not in RETRIED_STATUSES:
                return Delivery(ok=False, attempts=attempt, error=error)
            wait = _retry_after(response)
        if attempt >= policy.attempts:
            break
        backoff = min(policy.max_backoff_seconds, policy.backoff_seconds * 2 ** (attempt - 1))
        delay = max(backoff * random.uniform(0.5, 1.0), wait or 0.0)
        if time.monotonic() + delay >= deadline:
            break
        await sleep(delay)
    return Delivery(ok=False, attempts=attempt, error=f"gave up after {attempt} attempt(s): {error}")


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (Slack sends seconds on 429); ``None`` if absent or a date."""
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None
