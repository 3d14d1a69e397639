"""The retry rule and loop on their own: what is retried, how often, how long it waits."""

from __future__ import annotations

import anyio
import pytest

from apps.agent_core.gateway.errors import (
    CallTimedOut,
    CircuitOpen,
    McpServerError,
    ServerRejected,
    ServerUnavailable,
)
from apps.agent_core.gateway.retry import CallRetryPolicy, may_retry, with_retries


def unreachable(reached: bool = False) -> ServerUnavailable:
    return ServerUnavailable("db", "connection refused", reached=reached)


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (unreachable(reached=False), False, True),  # never reached the tool: always safe
        (unreachable(reached=True), False, False),  # may have run a destructive tool: never resent
        (unreachable(reached=True), True, True),  # may have run, but running twice does no harm
        (ServerRejected("db", "HTTP 400 Bad Request"), True, False),
        (CallTimedOut("db", 1.0, attempts=1), True, False),
        (CircuitOpen("db", 5.0, None), True, False),
    ],
)
def test_may_retry(error: McpServerError, idempotent: bool, expected: bool) -> None:
    assert may_retry(error, idempotent=idempotent) is expected


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = CallRetryPolicy(base_delay_seconds=0.1, max_delay_seconds=0.3)
    assert [policy.backoff(n, lambda: 1.0) for n in (1, 2, 3, 4)] == pytest.approx([0.1, 0.2, 0.3, 0.3])
    assert policy.backoff(3, lambda: 0.0) == 0.0
    assert policy.backoff(2, lambda: 0.5) == pytest.approx(0.1)


def run_retries(
    outcomes: list[McpServerError | str], *, deadline: float = 100.0
) -> tuple[object, list[int], list[float]]:
    """Feed ``outcomes`` to ``with_retries`` one attempt at a time; record attempts and sleeps."""
    calls: list[int] = []
    sleeps: list[float] = []

    async def attempt(number: int) -> str:
        calls.append(number)
        outcome = outcomes[number - 1]
        if isinstance(outcome, McpServerError):
            raise outcome
        return outcome

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def scenario() -> object:
        try:
            return await with_retries(
                attempt,
                policy=CallRetryPolicy(max_attempts=3),
                retryable=lambda error: may_retry(error, idempotent=False),
                deadline=deadline,
                clock=lambda: 0.0,
                sleep=sleep,
                uniform=lambda: 1.0,
            )
        except McpServerError as error:
            return error

    return anyio.run(scenario), calls, sleeps


def test_retries_transient_failures_until_one_succeeds() -> None:
    result, calls, sleeps = run_retries([unreachable(), unreachable(), "ok"])
    assert result == "ok"
    assert calls == [1, 2, 3]
    assert sleeps == pytest.approx([0.1, 0.2])


def test_gives_up_after_max_attempts_and_says_how_many() -> None:
    result, calls, _ = run_retries([unreachable(), unreachable(), unreachable(), "never"])
    assert isinstance(result, ServerUnavailable)
    assert result.attempts == 3 and calls == [1, 2, 3]
    assert str(result) == "db MCP server is unreachable (connection refused) after 3 attempts"


def test_does_not_retry_what_is_not_transient() -> None:
    result, calls, sleeps = run_retries([ServerRejected("db", "HTTP 400 Bad Request"), "never"])
    assert isinstance(result, ServerRejected) and result.attempts == 1
    assert calls == [1] and sleeps == []


def test_no_backoff_starts_that_would_end_past_the_deadline() -> None:
    result, calls, sleeps = run_retries([unreachable(), "never"], deadline=0.05)
    assert isinstance(result, ServerUnavailable)
    assert calls == [1] and sleeps == []


def test_a_breaker_that_opened_meanwhile_reports_the_failure_that_opened_it() -> None:
    first = unreachable()
    result, calls, _ = run_retries([first, CircuitOpen("db", 10.0, "connection refused")])
    assert result is first and result.attempts == 1
    assert calls == [1, 2]


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        CallRetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        CallRetryPolicy(base_delay_seconds=1.0, max_delay_seconds=0.5)
