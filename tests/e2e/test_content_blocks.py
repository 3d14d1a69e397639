"""A step result with an image, resource text and links, on the run page in real Chromium under the real CSP.

An agent core of its own (in-process, serving the dashboard) over ``@modelcontextprotocol/server-everything``
(tools/mcp-everything), whose ``get-tiny-image`` sends a 20x20 PNG, and a server on the official Python SDK 1.x
(tools/mcp-python-v1), whose ``gradient_image`` sends a 16x16 PNG it draws. The page is held to what every e2e page
is (no CSP violation, no console error, no request to another origin); the rendering of blocks
server-everything does not send (web links, refused URIs and types) is checked on the same page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import ARTIFACTS, Dashboard, open_dashboard
from tests.support.agent_core import TERMINAL, CoreClient, run_agent_core
from tests.support.third_party_mcp import (
    EVERYTHING_ENTRY,
    INSTALL_HINT,
    PYTHON_V1,
    ServerProcess,
    python_sdk_v1,
    server_everything,
)

ROOT = Path(__file__).resolve().parents[2]
TINY_IMAGE_SOURCE = EVERYTHING_ENTRY.parent / "tools" / "get-tiny-image.js"
WORKFLOW = {
    "name": "every_content_type",
    "steps": [
        {"id": "image", "tool": "everything.get-tiny-image", "arguments": {}},
        {"id": "resource", "tool": "everything.get-resource-reference", "arguments": {"resourceType": "Text"}},
        {"id": "links", "tool": "everything.get-resource-links", "arguments": {"count": 2}},
    ],
}


def tiny_image() -> str:
    found = re.search(r'MCP_TINY_IMAGE = "([A-Za-z0-9+/=]+)"', TINY_IMAGE_SOURCE.read_text())
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreClient]:
    assert EVERYTHING_ENTRY.exists() and PYTHON_V1.exists(), INSTALL_HINT
    logs = tmp_path_factory.mktemp("content-blocks")
    everything: ServerProcess = server_everything(logs / "everything.log")
    pyv1 = python_sdk_v1(logs / "pyv1.log", logs / "pyv1-calls.txt", stateless=False)
    started: list[ServerProcess] = []
    try:
        for process in (everything, pyv1):
            process.start()
            started.append(process)
        servers = {"everything": everything.url, "pyv1": pyv1.url}
        with run_agent_core(servers, logs, dashboard_dir=ROOT / "dashboard") as client:
            yield client
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def page(browser: Browser, core: CoreClient) -> Iterator[Dashboard]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield from open_dashboard(browser, core.url)


def test_the_run_page_shows_the_image_inline_the_resource_text_and_the_links(page: Dashboard, core: CoreClient) -> None:
    run = core.wait_for(core.start({"workflow": WORKFLOW}), TERMINAL, timeout=30)
    assert run["status"] == "succeeded", run
    page.open(f"/runs/{run['id']}")

    image = page.page.locator('[data-step-id="image"] [data-block="image"] img')
    expect(image).to_be_visible()
    assert image.get_attribute("src") == f"data:image/png;base64,{tiny_image()}"
    # Decoded by the browser under the CSP: the 20x20 MCP logo.
    assert image.evaluate("img => img.complete && [img.naturalWidth, img.naturalHeight]") == [20, 20]
    expect(page.page.locator('[data-step-id="image"] [data-block="text"]')).to_have_text(
        ["Here's the image you requested:", "The image above is the MCP logo."]
    )

    resource = page.page.locator('[data-step-id="resource"] [data-block="resource"]')
    expect(resource.locator("figcaption")).to_contain_text("demo://resource/dynamic/text/1")
    expect(resource.locator("pre")).to_contain_text("Resource 1")

    links = page.page.locator('[data-step-id="links"] [data-block="resource_link"]')
    expect(links).to_have_count(2)
    # demo: URIs are not web links: shown, not clickable.
    expect(links.locator("a")).to_have_count(0)
    expect(links.first).to_contain_text("demo://resource/dynamic/blob/1")
    page.screenshot("content-blocks")


def test_the_run_page_shows_the_python_sdk_v1_image_as_drawn(page: Dashboard, core: CoreClient) -> None:
    workflow = {"name": "python_v1_image", "steps": [{"id": "image", "tool": "pyv1.gradient_image", "arguments": {}}]}
    run = core.wait_for(core.start({"workflow": workflow}), TERMINAL, timeout=30)
    assert run["status"] == "succeeded", run
    page.open(f"/runs/{run['id']}")

    image = page.page.locator('[data-step-id="image"] [data-block="image"] img')
    expect(image).to_be_visible()
    assert image.get_attribute("src") == f"data:image/png;base64,{run['steps'][0]['result']['content'][1]['data']}"
    # Decoded by the browser: 16x16, the pixel at (x, y) being (16x, 16y, 128), as the server drew it.
    drawn = image.evaluate(
        """img => {
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth;
            canvas.height = img.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(img, 0, 0);
            return [img.naturalWidth, img.naturalHeight, Array.from(context.getImageData(3, 5, 1, 1).data)];
        }"""
    )
    assert drawn == [16, 16, [48, 80, 128, 255]]
    expect(page.page.locator('[data-step-id="image"] [data-block="text"]')).to_have_text(
        "A 16x16 gradient: red grows to the right, green downwards."
    )


def render(page: Dashboard, result: dict[str, Any]) -> None:
    """``resultView`` of the page's own render.js, into the page (the module is the dashboard's, under its CSP)."""
    page.page.evaluate(
        """async (result) => {
            const { resultView } = await import("/js/render.js");
            const holder = document.createElement("div");
            holder.id = "rendered";
            holder.append(resultView(result));
            document.querySelector("main").append(holder);
        }""",
        result,
    )


def test_only_web_links_are_clickable_and_only_images_are_shown_as_images(page: Dashboard) -> None:
    page.open("/")
    render(
        page,
        {
            "content": [
                {"type": "resource_link", "uri": "https://example.com/report", "name": "report", "title": "Report"},
                {"type": "resource_link", "uri": "javascript:alert(1)", "name": "sneaky"},
                {"type": "image", "mimeType": "text/html", "data": "PGgxPmhpPC9oMT4="},
                {"type": "image", "mimeType": "image/png", "omitted": "2.0 MiB not kept: over the limit"},
                {"type": "audio", "mimeType": "audio/wav", "data": "UklGRg=="},
            ],
            "structuredContent": {"pages": 2},
        },
    )
    rendered = page.page.locator("#rendered")
    links = rendered.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.com/report")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(rendered).to_contain_text("javascript:alert(1)")
    expect(rendered.locator("img")).to_have_count(0)
    expect(rendered).to_contain_text("Image: text/html, 11 B (not an image type shown here)")
    expect(rendered).to_contain_text("Image: image/png, 2.0 MiB not kept: over the limit")
    expect(rendered).to_contain_text("Audio: audio/wav, 4 B (not played here)")
    expect(rendered.locator("pre")).to_contain_text('"pages": 2')
