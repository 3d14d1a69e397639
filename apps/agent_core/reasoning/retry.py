"""Retrying a model call through throttling and transient failures: exponential backoff, full jitter.

Full jitter (a delay drawn uniformly from zero to the exponential ceiling) spreads the retries of
many replicas hit by the same throttling, instead of having them all come back at once. The attempt
count is bounded, so a run waits at most the sum of the ceilings before it reports the failure.
``sleep`` and ``rand`` are parameters so tests can run without waiting and see every delay.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

__all__ = ["ModelRetryPolicy", "Sleep", "with_retries"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ModelRetryPolicy:
    max_attempts: int = 4
    """Counts the first try."""
    base_delay: float = 0.5
    max_delay: float = 8.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retry delays cannot be negative")

    def backoff(self, retry: int, rand: Callable[[], float]) -> float:
        """The delay before retry number ``retry`` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return rand() * ceiling


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: ModelRetryPolicy,
    retryable: Callable[[Exception], bool],
    what: str,
    sleep: Sleep = anyio.sleep,
    rand: Callable[[], float] = random.random,
    server_delay: Callable[[Exception], float | None] | None = None,
) -> T:
    """Run ``attempt`` until it succeeds, fails with a non-retryable error, or attempts run out.

    The last exception propagates unchanged; callers tell "gave up" from "refused" with ``retryable``.
    ``server_delay`` reads a delay the server asked for (Retry-After); it raises the jittered delay
    but never past ``policy.max_delay``, so a server cannot stall a run.
    """
    for number in range(1, policy.max_attempts + 1):
        try:
            return await attempt()
        except Exception as exc:
            if number >= policy.max_attempts or not retryable(exc):
                raise
            delay = policy.backoff(number, rand)
            asked = server_delay(exc) if server_delay is not None else None
            if asked is not None:
                delay = min(policy.max_delay, max(delay, asked))
            logger.warning("%s failed (%s); retry %d in %.2f s", what, type(exc).__name__, number, delay)
            await sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
