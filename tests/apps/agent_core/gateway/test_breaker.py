"""The circuit breaker on its own, with a clock that moves only when the test says so."""

from __future__ import annotations

import pytest

from apps.agent_core.gateway.breaker import BreakerOpenError, CircuitBreaker
from tests.apps.agent_core.gateway.support import FakeClock


def state(breaker: CircuitBreaker) -> str:
    return breaker.state  # a fresh read each time (mypy would narrow the property across calls)


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.failure(breaker.acquire(), "connection refused")


def test_opens_after_threshold_consecutive_failures(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10, clock=clock)
    fail(breaker, 2)
    assert state(breaker) == "closed"
    fail(breaker)
    assert state(breaker) == "open"
    with pytest.raises(BreakerOpenError) as refused:
        breaker.acquire()
    assert refused.value.retry_after == pytest.approx(10)
    assert refused.value.last_failure == "connection refused"


def test_a_success_resets_the_count(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10, clock=clock)
    fail(breaker, 2)
    breaker.success(breaker.acquire())
    fail(breaker, 2)
    assert state(breaker) == "closed"


def test_half_open_lets_exactly_one_probe_through_and_its_success_closes(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10, clock=clock)
    fail(breaker)
    clock.advance(9.9)
    with pytest.raises(BreakerOpenError):
        breaker.acquire()
    assert breaker.retry_after() == pytest.approx(0.1)
    clock.advance(0.1)
    assert state(breaker) == "half_open"
    probe = breaker.acquire()
    assert probe.probe
    with pytest.raises(BreakerOpenError):
        breaker.acquire()  # the probe is out: everyone else still fails fast
    breaker.success(probe)
    assert state(breaker) == "closed"
    assert not breaker.acquire().probe


def test_a_failed_probe_reopens_for_a_full_cool_down(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=10, clock=clock)
    fail(breaker, 2)
    clock.advance(10)
    breaker.failure(breaker.acquire(), "still refused")
    assert state(breaker) == "open"
    assert breaker.retry_after() == pytest.approx(10)
    assert breaker.last_failure == "still refused"


def test_a_released_probe_lets_the_next_caller_probe(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=1, clock=clock)
    fail(breaker)
    clock.advance(1)
    breaker.release(breaker.acquire())  # e.g. the probing call was cancelled
    assert breaker.acquire().probe


def test_a_straggler_failing_while_open_does_not_extend_the_cool_down(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10, clock=clock)
    early = breaker.acquire()
    fail(breaker)
    clock.advance(5)
    breaker.failure(early, "late news")
    assert breaker.retry_after() == pytest.approx(5)


@pytest.mark.parametrize(("threshold", "timeout"), [(0, 1.0), (1, 0.0)])
def test_rejects_nonsense_settings(threshold: int, timeout: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=threshold, reset_timeout=timeout)
