"""A long step's progress on the run page: a bar and "n/total (p%) — message" while it runs, gone once it ends.

An agent core of its own serves the dashboard here, over an MCP server whose tool reports progress
(``tests/support/progress_server.py``): the platform's own servers answer in JSON and cannot report any.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import ROOT, Dashboard, open_dashboard
from tests.support.agent_core import CoreClient, run_agent_core
from tests.support.progress_server import run_progress_server


@pytest.fixture(scope="module")
def ticker_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreClient]:
    with (
        run_progress_server() as ticker,
        run_agent_core({"ticker": ticker}, tmp_path_factory.mktemp("core"), dashboard_dir=ROOT / "dashboard") as core,
    ):
        yield core


@pytest.fixture
def ticker_dashboard(browser: Browser, ticker_core: CoreClient) -> Iterator[Dashboard]:
    yield from open_dashboard(browser, ticker_core.url)


def test_a_running_step_shows_its_progress_live(ticker_dashboard: Dashboard, ticker_core: CoreClient) -> None:
    step = {"id": "long", "tool": "ticker.tick", "arguments": {"reports": 12, "interval": 0.4}, "timeout_seconds": 1}
    run_id = ticker_core.start({"workflow": {"name": "long", "steps": [step]}})
    page = ticker_dashboard.page
    ticker_dashboard.open(f"/runs/{run_id}")

    card = page.locator('[data-step-id="long"]')
    expect(card).to_have_attribute("data-status", "running")
    words = card.locator(".step__progress")
    expect(words).to_contain_text(re.compile(r"^\d+/12 \(\d+%\) — tick \d+$"))
    bar = card.locator(".step__progress progress")
    expect(bar).to_have_attribute("max", "12")
    first = int(bar.evaluate("element => element.value"))
    assert 1 <= first <= 12
    expect(words).not_to_contain_text(f"{first}/12", timeout=5_000)  # it moves on as reports arrive
    ticker_dashboard.screenshot("progress-running")

    expect(card).to_have_attribute("data-status", "succeeded", timeout=15_000)
    expect(card.locator(".step__progress")).to_have_count(0)
