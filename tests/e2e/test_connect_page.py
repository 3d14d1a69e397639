"""The "Connect a client" page in Chromium: every snippet names this site's endpoint, parses, copies, and holds no key.

Reuses the session's platform and browser; adds about two seconds (three page loads, no runs).
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import Dashboard, Platform

PLACEHOLDER = "<your API key>"
BEARER = f"Bearer {PLACEHOLDER}"
MCP_SNIPPETS = ("cursor", "claude-desktop", "vscode", "claude-code")
A2A_SNIPPETS = ("a2a-python", "a2a-curl")
# A key the browser holds (as after the key dialog): the page must not copy it into any snippet.
STORED_KEY = "agentic-e2e-secret-key-0123456789"


def snippets(dashboard: Dashboard) -> dict[str, str]:
    dashboard.open("/connect")
    cards = dashboard.page.locator("[data-snippet]")
    expect(cards).to_have_count(len(MCP_SNIPPETS) + len(A2A_SNIPPETS))
    return {str(card.get_attribute("data-snippet")): card.locator("pre").inner_text() for card in cards.all()}


def test_snippets_name_this_origin_and_parse(dashboard: Dashboard, platform: Platform) -> None:
    texts = snippets(dashboard)
    mcp_url = f"{platform.url}/api/mcp"
    expect(dashboard.page.locator("#connect-mcp-url")).to_have_text(mcp_url)
    expect(dashboard.page.locator('[data-nav="connect"]')).to_have_attribute("aria-current", "page")
    for name in MCP_SNIPPETS:
        assert mcp_url in texts[name], name
        assert PLACEHOLDER in texts[name], name

    cursor: dict[str, Any] = json.loads(texts["cursor"])
    assert cursor == {"mcpServers": {"agentic": {"url": mcp_url, "headers": {"Authorization": BEARER}}}}
    vscode: dict[str, Any] = json.loads(texts["vscode"])
    assert vscode == {"servers": {"agentic": {"type": "http", "url": mcp_url, "headers": {"Authorization": BEARER}}}}
    bridge = json.loads(texts["claude-desktop"])["mcpServers"]["agentic"]
    assert bridge["command"] == "npx"
    # The header goes through an env variable: Claude Desktop on Windows splits args at spaces.
    assert bridge["args"] == ["-y", "mcp-remote", mcp_url, "--header", "Authorization:${AGENTIC_AUTH}"]
    assert bridge["env"] == {"AGENTIC_AUTH": BEARER}
    assert texts["claude-code"] == (
        f'claude mcp add --transport http agentic {mcp_url} --header "Authorization: {BEARER}"'
    )

    card = dashboard.page.locator("#connect-a2a-card")
    expect(card).to_have_attribute("href", f"{platform.url}/.well-known/agent-card.json")
    compile(texts["a2a-python"], "a2a-python", "exec")  # a SyntaxError fails the test
    assert f'create_client("{platform.url}"' in texts["a2a-python"]
    curl = texts["a2a-curl"]
    assert curl.startswith(f"curl -s {platform.url}/api/a2a ")
    payload = re.search(r"-d '(.*)'$", curl)
    assert payload is not None, curl
    request = json.loads(payload.group(1))
    assert request["method"] == "SendMessage"
    assert request["params"]["message"]["role"] == "ROLE_USER"
    dashboard.screenshot("connect")


def test_no_key_appears_and_copy_copies_the_snippet(dashboard: Dashboard) -> None:
    page = dashboard.page
    page.context.add_init_script(f"sessionStorage.setItem('agentic.apiKey', {json.dumps(STORED_KEY)})")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    texts = snippets(dashboard)
    assert page.evaluate("sessionStorage.getItem('agentic.apiKey')") == STORED_KEY  # the page could have used it
    assert STORED_KEY not in page.content()
    assert all(STORED_KEY not in text for text in texts.values())

    card = page.locator('[data-snippet="vscode"]')
    card.get_by_role("button", name="Copy").click()
    expect(card.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == texts["vscode"]


def test_connect_page_fits_a_phone(narrow_dashboard: Dashboard) -> None:
    snippets(narrow_dashboard)
    narrow_dashboard.screenshot("narrow-connect")
    assert narrow_dashboard.has_no_horizontal_overflow()
