"""A call's timeout is an idle one: progress reports move it on, up to the hard limit (``gateway/progress.py``).

Against a real MCP server (``tests/support/progress_server.py``) whose tool reports progress on the
schedule each test gives it. Timeouts are short and real: the figures say what each case must show.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from apps.agent_core.gateway.gateway import McpGateway
from apps.agent_core.model import ToolCall, ToolOutcome, ToolProgress
from tests.support.progress_server import run_progress_server

IDLE = 0.5
"""The step's timeout in these tests: every case runs longer than this."""


@pytest.fixture(scope="module")
def ticker() -> Iterator[str]:
    with run_progress_server() as url:
        yield url


def tick(ticker: str, *, max_call_seconds: float = 30.0, **arguments: Any) -> tuple[ToolOutcome, list[ToolProgress]]:
    """Call ``tick`` once with a 0.5 s timeout; returns the outcome and every report passed on."""
    reports: list[ToolProgress] = []

    async def main() -> ToolOutcome:
        async with McpGateway({"ticker": ticker}, max_call_seconds=max_call_seconds) as gateway:
            call = ToolCall(id="c1", server="ticker", tool="tick", arguments=arguments)
            return await gateway.call(call, timeout=IDLE, on_progress=reports.append)

    return anyio.run(main), reports


def test_a_tool_that_keeps_reporting_runs_past_its_timeout_and_its_reports_are_passed_on(ticker: str) -> None:
    outcome, reports = tick(ticker, reports=10, interval=0.2)
    took = outcome.duration_ms / 1000
    assert outcome.ok, outcome.error
    assert outcome.result == {"reports": 10}
    assert took >= 2.0, "ten reports 0.2 s apart: four times the timeout"
    assert reports == [ToolProgress(progress=n, total=10, message=f"tick {n}") for n in range(1, 11)]


def test_a_tool_that_never_reports_fails_at_its_timeout_as_before(ticker: str) -> None:
    outcome, reports = tick(ticker, reports=0, interval=0, silence=5)
    took = outcome.duration_ms / 1000
    assert not outcome.ok and reports == []
    assert outcome.error == "ticker MCP server gave no answer within 0.5 s; the tool may still be running"
    assert IDLE <= took < IDLE + 0.5


def test_a_tool_that_falls_silent_fails_one_timeout_after_its_last_report(ticker: str) -> None:
    outcome, reports = tick(ticker, reports=3, interval=0.3, silence=5)
    took = outcome.duration_ms / 1000
    assert not outcome.ok and len(reports) == 3
    assert outcome.error is not None and "gave no answer and no progress for 0.5 s" in outcome.error
    assert "its last report came 0.9 s in" in outcome.error or "its last report came 1.0 s in" in outcome.error
    assert 0.9 + IDLE <= took < 0.9 + IDLE + 0.5


def test_a_tool_that_reports_forever_fails_at_the_hard_limit_which_the_error_names(ticker: str) -> None:
    outcome, reports = tick(ticker, max_call_seconds=1.5, reports=10_000, interval=0.1)
    took = outcome.duration_ms / 1000
    assert not outcome.ok
    assert outcome.error == (
        "ticker MCP server gave no answer within its hard limit of 1.5 s, though it kept reporting progress;"
        " the tool may still be running"
    )
    assert 1.5 <= took < 2.0
    assert len(reports) >= 10, "it was reporting all along"


def test_the_hard_limit_is_never_shorter_than_the_timeout(ticker: str) -> None:
    # A step may set a timeout longer than the hard limit: it still gets all of it.
    outcome, _ = tick(ticker, max_call_seconds=0.1, reports=2, interval=0.1)
    assert outcome.ok, outcome.error


def test_a_listener_that_fails_does_not_end_the_call(ticker: str, caplog: pytest.LogCaptureFixture) -> None:
    def broken(_: ToolProgress) -> None:
        raise RuntimeError("listener bug")

    async def main() -> ToolOutcome:
        async with McpGateway({"ticker": ticker}) as gateway:
            call = ToolCall(id="c1", server="ticker", tool="tick", arguments={"reports": 4, "interval": 0.2})
            return await gateway.call(call, timeout=IDLE, on_progress=broken)

    outcome = anyio.run(main)
    assert outcome.ok, outcome.error
    assert "a progress listener failed" in caplog.text
