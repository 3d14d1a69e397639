"""How long a tool call may take: an idle timeout that the tool's progress reports push out, under a hard limit.

Every ``tools/call`` carries a progress token, so a tool that reports progress (MCP
``notifications/progress``) can show it is alive. A call waits ``idle`` seconds for its answer — the
step's ``timeout_seconds``, else the gateway's default (``AGENTIC_STEP_TIMEOUT_SECONDS``). Each progress
report moves that deadline to ``idle`` seconds after the report, but never past ``hard`` seconds after
the call began (``AGENTIC_STEP_MAX_SECONDS``, and never less than ``idle``). So:

- a tool that never reports progress fails at its timeout, exactly as it did before progress existed;
- a slow tool that keeps reporting runs until it answers, or until the hard limit;
- a tool that reports and then falls silent fails ``idle`` seconds after its last report.

The deadline is an anyio cancel scope whose ``deadline`` the progress callback moves; the callback runs
in the SDK client's own task, on the same event loop.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import anyio
from pydantic import ValidationError

from apps.agent_core.gateway.errors import CallTimedOut
from apps.agent_core.model import PROGRESS_MESSAGE_CHARS, ToolProgress

log = logging.getLogger(__name__)

OnProgress = Callable[[ToolProgress], None]
"""Told each progress report of a call. Called on the client's receive path: it must not block or raise."""


class DeadlinePassed(Exception):
    """The call's deadline passed; ``CallDeadline.timed_out`` says which one, for the message."""


class CallDeadline:
    """The deadline of one call (all its attempts): ``idle`` seconds, moved by progress, capped at ``hard``."""

    def __init__(
        self,
        idle: float,
        hard: float | None = None,
        *,
        on_progress: OnProgress | None = None,
    ) -> None:
        self.idle = idle
        self.hard = max(idle, hard if hard is not None else idle)
        self._on_progress = on_progress
        self._began: float | None = None
        self._deadline: float | None = None
        self._scope: anyio.CancelScope | None = None
        self.last_report: float | None = None
        """When the tool last reported progress (event-loop time); ``None`` if it never did."""

    @property
    def until(self) -> float:
        """The deadline as it stands, in event-loop time (``anyio.current_time``); before the call begins, as it
        would stand if it began now."""
        return self._deadline if self._deadline is not None else anyio.current_time() + self.idle

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Run the block under the deadline; ``DeadlinePassed`` when it passes first."""
        self._began = anyio.current_time()
        self._deadline = self._began + self.idle
        with anyio.CancelScope(deadline=self._deadline) as scope:
            self._scope = scope
            try:
                yield
            finally:
                self._scope = None
        if scope.cancelled_caught and anyio.current_time() >= scope.deadline:
            raise DeadlinePassed

    async def progress_callback(self, progress: float, total: float | None, message: str | None) -> None:
        """The SDK's ``progress_callback``: any report moves the deadline, a readable one is passed on."""
        scope, began = self._scope, self._began
        if scope is None or began is None:
            return  # a report that arrives after the call ended changes nothing
        now = anyio.current_time()
        self.last_report = now
        self._deadline = scope.deadline = min(now + self.idle, began + self.hard)
        if self._on_progress is None:
            return
        try:
            report = ToolProgress(
                progress=progress,
                total=total,
                message=message[:PROGRESS_MESSAGE_CHARS] if message is not None else None,
            )
        except ValidationError:
            return  # not a number JSON can carry (NaN, infinity): alive, but nothing to show
        try:
            self._on_progress(report)
        except Exception:  # a listener's bug must not end the call, which is still running fine
            log.exception("a progress listener failed")

    def timed_out(self, server: str, *, attempts: int) -> CallTimedOut:
        """The error for a passed deadline, naming which limit ended the call."""
        error = CallTimedOut(server, self.idle, attempts=attempts)
        # CallTimedOut words the plain timeout; a call that reported progress ended for another reason.
        if self.last_report is None or self._began is None:
            return error  # no progress was ever reported: the plain timeout, worded as it always was
        if self.until >= self._began + self.hard:  # the last report could not move it any further
            error.detail = f"no answer within its hard limit of {self.hard:g} s, though it kept reporting progress"
        else:
            into = self.last_report - self._began
            error.detail = f"no answer and no progress for {self.idle:g} s (its last report came {into:.1f} s in)"
        return error
