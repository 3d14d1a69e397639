"""The in-process wake-ups: a change between a waiter's store read and its wait is not missed."""

from __future__ import annotations

import asyncio
import time

from apps.agent_core.runs.notifier import RunNotifier


def test_a_signal_taken_before_the_read_sees_a_change_made_before_the_wait() -> None:
    async def scenario() -> tuple[bool, float]:
        notifier = RunNotifier()
        signal = notifier.signal("run-1")  # the waiter takes it, then reads the store…
        notifier.notify("run-1")  # …and the run changes before the waiter starts waiting
        started = time.monotonic()
        woken = await notifier.wait("run-1", 5.0, signal)
        return woken, time.monotonic() - started

    woken, waited = asyncio.run(scenario())
    assert woken and waited < 1.0


def test_without_a_notification_the_wait_times_out() -> None:
    async def scenario() -> bool:
        notifier = RunNotifier()
        notifier.notify("other-run")
        return await notifier.wait("run-1", 0.05, notifier.signal("run-1"))

    assert asyncio.run(scenario()) is False
