"""The gauges behind the RunsStuckAwaitingApproval alert (infra/alerts/platform-rules.yaml): how many runs
in this process wait for a person's decision, and how long the longest of those waits has lasted."""

from __future__ import annotations

import time

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from apps.agent_core.metrics import AgentCoreMetrics


def _values(metrics: AgentCoreMetrics) -> dict[str, float]:
    text = generate_latest(metrics.registry).decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in ("agent_core_runs_awaiting_approval", "agent_core_approval_oldest_wait_seconds")
    }


def test_nothing_waits() -> None:
    assert _values(AgentCoreMetrics()) == {
        "agent_core_runs_awaiting_approval": 0.0,
        "agent_core_approval_oldest_wait_seconds": 0.0,
    }


def test_the_oldest_wait_is_measured_until_it_ends() -> None:
    metrics = AgentCoreMetrics()
    with metrics.awaiting_approval():
        time.sleep(0.2)
        with metrics.awaiting_approval():
            values = _values(metrics)
            assert values["agent_core_runs_awaiting_approval"] == 2
            assert values["agent_core_approval_oldest_wait_seconds"] >= 0.2  # the first, not the newest
        assert _values(metrics)["agent_core_runs_awaiting_approval"] == 1
    assert _values(metrics) == {
        "agent_core_runs_awaiting_approval": 0.0,
        "agent_core_approval_oldest_wait_seconds": 0.0,
    }


def test_a_wait_that_raises_still_ends() -> None:
    metrics = AgentCoreMetrics()
    try:
        with metrics.awaiting_approval():
            raise TimeoutError
    except TimeoutError:
        pass
    assert _values(metrics)["agent_core_runs_awaiting_approval"] == 0
