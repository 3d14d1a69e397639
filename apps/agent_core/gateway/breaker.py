"""A circuit breaker per MCP server: stop sending requests to a server that is down, probe it now and then.

``closed``: requests flow; ``failure_threshold`` consecutive failures open it. ``open``: requests fail
at once, without touching the network, for ``reset_timeout`` seconds. Then ``half_open``: exactly one
request (the probe) goes through while the others keep failing fast; its success closes the breaker,
its failure opens it for another ``reset_timeout``.

Only the caller decides what a failure is: the gateway reports transport failures (the server is
unreachable), not a tool's error result or a rejected request, because those prove the server is up.
Every method is synchronous, so under asyncio each one runs without interleaving; the lock makes the
breaker safe to share with threads too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


class BreakerOpenError(Exception):
    """Refused: the breaker is open (or half-open with its probe already out)."""

    def __init__(self, retry_after: float, last_failure: str | None) -> None:
        super().__init__(f"circuit open; retry in {retry_after:.1f} s")
        self.retry_after = retry_after
        self.last_failure = last_failure


@dataclass(frozen=True)
class Permit:
    """Leave to send one request; hand it back with ``success``, ``failure`` or ``release``."""

    probe: bool


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        reset_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, not {failure_threshold}")
        if reset_timeout <= 0:
            raise ValueError(f"reset_timeout must be positive, not {reset_timeout}")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False
        self.last_failure: str | None = None

    @property
    def state(self) -> BreakerState:
        """As a caller would find it now: an open breaker whose cool-down has passed reads ``half_open``."""
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.reset_timeout:
                return "half_open"
            return self._state

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a probe through; 0 when it is not open."""
        with self._lock:
            if self._state != "open":
                return 0.0
            return max(0.0, self.reset_timeout - (self._clock() - self._opened_at))

    def acquire(self) -> Permit:
        """Leave to send one request, or ``BreakerOpenError``."""
        with self._lock:
            if self._state == "closed":
                return Permit(probe=False)
            if self._state == "open":
                waited = self._clock() - self._opened_at
                if waited < self.reset_timeout:
                    raise BreakerOpenError(self.reset_timeout - waited, self.last_failure)
                self._state = "half_open"
            if self._probe_out:
                # One probe at a time: a server just back up should not meet the whole backlog at once.
                raise BreakerOpenError(0.0, self.last_failure)
            self._probe_out = True
            return Permit(probe=True)

    def success(self, permit: Permit) -> None:
        with self._lock:
            # Any answer proves the server is reachable again, even one to a request sent before it opened.
            self._release(permit)
            self._state = "closed"
            self._failures = 0

    def failure(self, permit: Permit, reason: str) -> None:
        with self._lock:
            self._release(permit)
            self.last_failure = reason
            if self._state == "open":
                return  # a straggler sent before the breaker opened: the cool-down keeps its start
            self._failures += 1
            if self._state == "half_open" or self._failures >= self.failure_threshold:
                self._state = "open"
                self._opened_at = self._clock()

    def release(self, permit: Permit) -> None:
        """The request ended without saying anything about the server (cancelled, rejected locally)."""
        with self._lock:
            self._release(permit)

    def _release(self, permit: Permit) -> None:
        if permit.probe:
            self._probe_out = False
