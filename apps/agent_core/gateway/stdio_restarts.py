"""When a stdio server that exited may be started again: exponential backoff, and a bound on restarts.

As systemd does for a unit (``StartLimitBurst`` in ``StartLimitIntervalSec``): at most ``max_restarts``
restarts within ``window_seconds``; past that the server stays stopped until the process that runs it
(the agent core, or the bridge) is restarted, and its health says why. A server that crashes now and
then is restarted every time (restarts older than the window are forgotten); one that cannot start
at all is tried ``max_restarts + 1`` times and left alone. Before the n-th restart in the window it
waits ``base * 2**(n-1)`` seconds (at most ``max_delay_seconds``) after the exit, so a crash loop does
not spin; a request that finds it dead long after the exit does not wait at all.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    max_restarts: int = 5
    window_seconds: float = 300.0
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.max_restarts < 0:
            raise ValueError(f"max_restarts must not be negative, not {self.max_restarts}")
        if self.window_seconds <= 0:
            raise ValueError(f"window_seconds must be positive, not {self.window_seconds}")
        if self.base_delay_seconds < 0 or self.max_delay_seconds < self.base_delay_seconds:
            raise ValueError("delays must satisfy 0 <= base_delay_seconds <= max_delay_seconds")


class Restarts:
    """The starts of one server, and what they allow next. Synchronous: callers hold the client's lock."""

    def __init__(self, policy: RestartPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._started = False
        self._restarts: deque[float] = deque()
        self._exited_at: float | None = None
        self.last_exit: str | None = None
        """How the last run ended (``status 1``, ``an error starting it: …``), for the messages."""
        self.given_up: str | None = None
        """Why it is not started any more; ``None`` while it may be."""

    def started(self) -> None:
        """A process is being started; every start after the first is a restart."""
        if self._started:
            self._restarts.append(self._clock())
        self._started = True

    def ended(self, how: str, at: float | None = None) -> None:
        """The running process is gone (``how``: ``status 3``, ``could not start: …``)."""
        self._exited_at = at if at is not None else self._clock()
        self.last_exit = how

    def wait_seconds(self) -> float:
        """How long until the next start is allowed (0: now). Sets ``given_up`` once the bound is reached."""
        if not self._started:
            return 0.0
        now = self._clock()
        window_start = now - self.policy.window_seconds
        while self._restarts and self._restarts[0] < window_start:
            self._restarts.popleft()
        done = len(self._restarts)
        if done >= self.policy.max_restarts:
            self.given_up = (
                f"stopped after {done} restarts within {self.policy.window_seconds:g} s "
                f"(the last run ended with {self.last_exit or 'an unknown status'})"
            )
            return 0.0
        delay = min(self.policy.max_delay_seconds, self.policy.base_delay_seconds * 2.0**done)
        exited_at = self._exited_at if self._exited_at is not None else now
        return max(0.0, exited_at + delay - now)
