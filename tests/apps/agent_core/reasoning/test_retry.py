"""Backoff with full jitter: bounded delays, bounded attempts, only for what may be retried."""

from __future__ import annotations

import pytest

from apps.agent_core.reasoning.retry import ModelRetryPolicy, with_retries
from tests.apps.agent_core.reasoning.helpers import Sleeps

pytestmark = pytest.mark.anyio


def test_delays_grow_exponentially_up_to_the_cap_and_are_jittered() -> None:
    policy = ModelRetryPolicy(max_attempts=8, base_delay=0.5, max_delay=4.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.backoff(3, lambda: 0.25) == 0.5
    assert policy.backoff(3, lambda: 0.0) == 0.0


@pytest.mark.parametrize("attempts", [0, -1])
def test_at_least_one_attempt(attempts: int) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        ModelRetryPolicy(max_attempts=attempts)


async def test_retries_until_success() -> None:
    failures = [ConnectionError("a"), ConnectionError("b")]
    sleeps = Sleeps()

    async def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    result = await with_retries(
        attempt, policy=ModelRetryPolicy(), retryable=lambda e: True, what="test", sleep=sleeps, rand=lambda: 1.0
    )

    assert result == "done"
    assert sleeps.delays == [0.5, 1.0]


async def test_a_refusal_is_not_retried_and_the_last_failure_propagates() -> None:
    calls: list[int] = []
    sleeps = Sleeps()

    async def refused() -> None:
        calls.append(1)
        raise PermissionError("no")

    with pytest.raises(PermissionError):
        await with_retries(refused, policy=ModelRetryPolicy(), retryable=lambda e: False, what="t", sleep=sleeps)
    assert (len(calls), sleeps.delays) == (1, [])

    async def flaky() -> None:
        calls.append(1)
        raise ConnectionError("down")

    calls.clear()
    with pytest.raises(ConnectionError):
        await with_retries(
            flaky, policy=ModelRetryPolicy(max_attempts=3), retryable=lambda e: True, what="t", sleep=sleeps
        )
    assert len(calls) == 3
    assert len(sleeps.delays) == 2
