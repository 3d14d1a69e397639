"""An agent core that requires API keys: the dashboard asks for one, keeps it for the tab, and explains a 403."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, expect

from apps.agent_core.auth import new_key
from tests.e2e.conftest import ARTIFACTS, ROOT, Dashboard, Platform, open_dashboard
from tests.support.processes import run_service


@dataclass(frozen=True)
class KeyedCore:
    url: str
    viewer_key: str
    operator_key: str


@pytest.fixture(scope="module")
def keyed_core(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedCore]:
    """A second agent core, with keys, in front of the session's MCP servers."""
    viewer_key, viewer = new_key("e2e-viewer", ["viewer"])
    operator_key, operator = new_key("e2e-operator", ["viewer", "operator"])
    state = tmp_path_factory.mktemp("keyed-core") / "agent-core.db"
    env = {
        "AGENTIC_API_KEYS": json.dumps([viewer.model_dump(), operator.model_dump()]),
        "AGENTIC_DASHBOARD_DIR": str(ROOT / "dashboard"),
        "AGENTIC_STATE": f"sqlite:///{state}",
        "AGENTIC_MCP_SERVERS": platform.mcp_servers,
        "AGENTIC_REASONER": "offline",
        "AGENTIC_LOG_LEVEL": "WARNING",
    }
    with run_service("apps.agent_core", env, log_path=ARTIFACTS / "keyed-agent-core.log") as service:
        yield KeyedCore(service.url, viewer_key, operator_key)


@pytest.fixture
def keyed_dashboard(browser: Browser, keyed_core: KeyedCore) -> Iterator[Dashboard]:
    # The browser logs each refused request: those are what these tests provoke.
    yield from open_dashboard(browser, keyed_core.url, allowed_console=(re.compile(r"status of 40[13] "),))


def enter_key(dashboard: Dashboard, key: str) -> None:
    dialog = dashboard.page.get_by_role("dialog", name="API key needed")
    expect(dialog).to_be_visible()
    dialog.get_by_label("API key").fill(key)
    dialog.get_by_role("button", name="Use this key").click()


def test_the_key_prompt_appears_and_the_key_unlocks_the_dashboard(
    keyed_dashboard: Dashboard, keyed_core: KeyedCore
) -> None:
    dashboard = keyed_dashboard
    page = dashboard.page
    page.goto(f"{keyed_core.url}/#/health")
    dialog = page.get_by_role("dialog", name="API key needed")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("API key")).to_be_focused()
    dashboard.screenshot("09-api-key-prompt")

    # Dismissed, it stays closed (the page keeps polling) until asked for again.
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("alert").first).to_contain_text("An API key is needed")
    page.get_by_role("button", name="Enter an API key").first.click()

    enter_key(dashboard, "awp_not-a-real-key")
    expect(dialog).to_contain_text("did not accept")

    enter_key(dashboard, keyed_core.viewer_key)
    expect(dialog).to_be_hidden()
    expect(page.locator('[data-service="kubernetes"] .badge')).to_have_text("up")
    expect(page.locator("#reasoner-name")).to_have_text("offline")
    assert page.evaluate("sessionStorage.getItem('agentic.apiKey')") == keyed_core.viewer_key

    # A viewer may look but not start runs: the 403 is explained in words.
    dashboard.open("/")
    page.get_by_label("Task", exact=True).fill("What is the weather in Seattle?")
    page.get_by_role("button", name="Run task").click()
    expect(page.get_by_role("alert")).to_contain_text("Your API key is not allowed to do this")
    expect(page.get_by_role("alert")).to_contain_text("operator")
    dashboard.screenshot("10-api-key-forbidden")

    page.get_by_role("button", name="Forget the API key").click()
    enter_key(dashboard, keyed_core.operator_key)
    expect(dialog).to_be_hidden()
    page.get_by_label("Task", exact=True).fill("What is the weather in Seattle?")
    page.get_by_role("button", name="Run task").click()
    expect(page.locator("#run-status")).to_contain_text("succeeded")
    expect(page.locator('[data-step-id][data-status="succeeded"]')).to_contain_text("custom.get_weather")
