"""Retries with exponential backoff and full jitter, for transient failures that are safe to resend.

The rule (``may_retry``): a request is sent again only when it failed with ``ServerUnavailable`` and

- it provably never reached the tool: the connection was refused or timed out while connecting, our
  own pool had no free connection, or a proxy answered 503 (no healthy upstream took it); or
- resending it cannot do harm: listing tools, or calling a tool its server annotates read-only or
  idempotent. Only then are 502, 504 and a connection dropped mid-request retried, because the tool
  may have run.

Never retried: a tool's own ``isError`` result, any other HTTP status (4xx, 500), a JSON-RPC error,
a timeout of the call itself. A destructive call that may have reached its tool is reported, not
resent: the model or the operator decides, knowing it may have run.

Attempts are bounded (``max_attempts``) and so is the total time: no backoff sleep starts if it would
end past the deadline. Full jitter (a delay drawn uniformly from zero to the exponential cap) spreads
the retries of many replicas hitting one recovering server.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

from apps.agent_core.gateway.errors import CircuitOpen, McpServerError, ServerUnavailable

T = TypeVar("T")


@dataclass(frozen=True)
class CallRetryPolicy:
    max_attempts: int = 3
    base_delay_seconds: float = 0.1
    max_delay_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.base_delay_seconds < 0 or self.max_delay_seconds < self.base_delay_seconds:
            raise ValueError("delays must satisfy 0 <= base_delay_seconds <= max_delay_seconds")

    def backoff(self, failed_attempts: int, uniform: Callable[[], float] = random.random) -> float:
        """The sleep before attempt ``failed_attempts + 1``: uniform in [0, min(max, base * 2^(n-1)))."""
        cap = min(self.max_delay_seconds, self.base_delay_seconds * 2.0 ** (failed_attempts - 1))
        return cap * uniform()


def may_retry(error: McpServerError, *, idempotent: bool) -> bool:
    """Whether sending the request again is safe and may help (see the module's docstring)."""
    return isinstance(error, ServerUnavailable) and (not error.reached or idempotent)


async def with_retries(
    attempt: Callable[[int], Awaitable[T]],
    *,
    policy: CallRetryPolicy,
    retryable: Callable[[McpServerError], bool],
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    uniform: Callable[[], float] = random.random,
) -> T:
    """Run ``attempt(1)``, ``attempt(2)``… until one returns or the failure is final.

    The final ``McpServerError`` is raised with ``attempts`` set to the number of attempts made.
    ``deadline`` is a ``clock()`` value past which no new attempt starts.
    """
    number = 1
    previous: McpServerError | None = None
    while True:
        try:
            return await attempt(number)
        except CircuitOpen:
            # The breaker opened while we backed off: the failure that opened it is the one to report.
            if previous is None:
                raise
            raise previous from None
        except McpServerError as error:
            error.attempts = number
            previous = error
            if number >= policy.max_attempts or not retryable(error):
                raise
            delay = policy.backoff(number, uniform)
            if clock() + delay >= deadline:
                raise
        await sleep(delay)
        number += 1
