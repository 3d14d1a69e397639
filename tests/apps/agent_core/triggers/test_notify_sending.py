"""One notification to one sink: retried with backoff on failures worth retrying, bounded in time, URL never shown."""

from __future__ import annotations

import time

import httpx
import pytest

from apps.agent_core.triggers.notify.sending import DeliveryPolicy, send
from apps.agent_core.triggers.notify.sinks import NotifySinks, Sink
from tests.support.net import free_port
from tests.support.slack_standin import run_slack_standin

pytestmark = pytest.mark.anyio

FAST = DeliveryPolicy(attempts=4, timeout_seconds=2.0, backoff_seconds=0.05, max_backoff_seconds=0.2, total_seconds=10)
MESSAGE = {"text": "Run succeeded", "blocks": []}


def sink(url: str, kind: str = "slack") -> Sink:
    found = NotifySinks.parse(f"oncall={kind}:${{URL}}", {"URL": url}).get("oncall")
    assert found is not None
    return found


async def test_failures_are_retried_with_backoff_until_the_sink_accepts() -> None:
    with run_slack_standin(fail_first=2) as slack:
        async with httpx.AsyncClient() as client:
            delivery = await send(client, sink(slack.url), MESSAGE, FAST)
        assert (delivery.ok, delivery.attempts) == (True, 3)
        assert slack.requests == 3 and slack.received == [MESSAGE]


async def test_backoff_doubles_and_gives_up_after_the_attempts() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with run_slack_standin(fail_first=100) as slack:
        async with httpx.AsyncClient() as client:
            policy = DeliveryPolicy(attempts=4, backoff_seconds=1.0, max_backoff_seconds=3.0, total_seconds=60)
            delivery = await send(client, sink(slack.url), MESSAGE, policy, sleep=sleep)
        assert slack.requests == 4 and slack.received == []
    assert not delivery.ok and delivery.attempts == 4
    assert delivery.error == "gave up after 4 attempt(s): HTTP 503: service_unavailable"
    # Jittered between half and all of 1, 2, then 3 (the cap) seconds.
    assert len(waits) == 3 and 0.5 <= waits[0] <= 1 and 1 <= waits[1] <= 2 and 1.5 <= waits[2] <= 3


async def test_a_refusal_is_not_retried() -> None:
    with run_slack_standin() as slack:
        async with httpx.AsyncClient() as client:
            delivery = await send(client, sink(slack.url), {"blocks": []}, FAST)
        assert slack.requests == 1
    assert (delivery.ok, delivery.attempts, delivery.error) == (False, 1, "HTTP 400: no_text")


async def test_a_hanging_sink_costs_one_timeout_per_attempt_within_the_total() -> None:
    with run_slack_standin(hang_seconds=2.0) as slack:
        async with httpx.AsyncClient() as client:
            policy = DeliveryPolicy(attempts=5, timeout_seconds=0.2, backoff_seconds=0.05, total_seconds=0.7)
            started = time.monotonic()
            delivery = await send(client, sink(slack.url), MESSAGE, policy)
            elapsed = time.monotonic() - started
    assert not delivery.ok and 2 <= delivery.attempts <= 4
    assert delivery.error is not None and "no answer within" in delivery.error
    assert elapsed < 1.0, f"bounded by total_seconds, took {elapsed:.2f}s"


async def test_errors_never_carry_the_url() -> None:
    secret_url = "https://hooks.example.com/services/T1/B2/xoxSecretToken42"

    def echo_url(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=f"upstream refused {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(echo_url)) as client:
        delivery = await send(client, sink(secret_url, "webhook"), MESSAGE, DeliveryPolicy(attempts=1))
    assert delivery.error is not None and "upstream refused <oncall URL>" in delivery.error
    assert "xoxSecretToken42" not in delivery.error

    closed = f"http://127.0.0.1:{free_port()}/hook/xoxSecretToken42"
    async with httpx.AsyncClient() as client:
        delivery = await send(client, sink(closed), MESSAGE, DeliveryPolicy(attempts=2, backoff_seconds=0.01))
    assert delivery.error is not None and "ConnectError" in delivery.error and "xoxSecretToken42" not in delivery.error
