"""Every page: health, a phone-sized screen, and staying on its own origin under the strict CSP."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Dashboard, Platform

SERVICES = ("agent core", "aws", "database", "custom", "kubernetes")
WIDE_QUERY = 'Show some customers "SELECT * FROM customers ORDER BY id LIMIT 8"'

# Every form control must have a label a screen reader can announce.
UNLABELLED_CONTROLS = """
[...document.querySelectorAll("input, select, textarea")]
  .filter((el) => el.type !== "hidden" && el.labels.length === 0 && !el.getAttribute("aria-label"))
  .map((el) => el.outerHTML.slice(0, 120))
"""


def test_health_shows_every_service_and_the_reasoner(dashboard: Dashboard) -> None:
    page = dashboard.page
    dashboard.open("/health")
    for name in SERVICES:
        card = page.locator(f'[data-service="{name}"]')
        expect(card.locator(".badge")).to_have_text("up")
        expect(card).to_contain_text(re.compile(r"Latency\s*(<1 ms|[\d.]+ m?s)"))
    expect(page.locator("#health-reasoner")).to_have_text("offline")
    expect(page.locator("#reasoner-name")).to_have_text("offline")
    dashboard.screenshot("08-health")
    # It refreshes on its own while the page is visible.
    with page.expect_request(lambda request: request.url.endswith("/api/health"), timeout=8000):
        pass


def test_nothing_overflows_at_375_px(narrow_dashboard: Dashboard, platform: Platform) -> None:
    page = narrow_dashboard.page
    wide = platform.start_run({"task": WIDE_QUERY})
    weather = platform.start_run({"task": "What is the weather in Seattle?"})
    waiting = platform.start_run({"workflow": platform.scale_workflow("narrow_screen_check", replicas=0)})
    for run_id in (wide, weather):
        platform.finished_run(run_id)

    def start_mode(label: str) -> Callable[[Page], None]:
        return lambda page: page.get_by_text(label, exact=True).click()

    def try_glue_job(page: Page) -> None:
        card = page.locator('[data-tool="aws.start_glue_job"]')
        card.get_by_text("Input schema").click()
        card.get_by_text("Try it").click()
        expect(card.get_by_label("Job Name")).to_be_visible()

    def open_result(page: Page) -> None:
        page.locator('details[data-part="result"] > summary').first.click()

    pages: list[tuple[str, str, Callable[[Page], None] | None, str]] = [
        ("start-task", "/", None, "textarea"),
        ("start-template", "/", start_mode("Use a template"), "select option[value=weather_to_store]"),
        ("start-workflow", "/", start_mode("Write a workflow"), "text=Valid: ready to run."),
        ("history", "/history", None, "tbody tr"),
        ("approvals", "/approvals", None, f'.approval:has(a[href="#/runs/{waiting}"])'),
        ("tools", "/tools", try_glue_job, '[data-tool="aws.start_glue_job"] form'),
        ("health", "/health", None, '[data-service="kubernetes"]'),
        ("run-table", f"/runs/{wide}", None, "table tbody tr"),
        ("run-json", f"/runs/{weather}", open_result, 'details[data-part="result"][open] pre.json'),
        ("run-approval", f"/runs/{waiting}", None, ".approval"),
    ]
    overflowing = []
    try:
        for name, route, action, ready in pages:
            narrow_dashboard.open(route)
            if action is not None:
                action(page)
            expect(page.locator(ready).first).to_be_attached()
            narrow_dashboard.screenshot(f"narrow-{name}")
            if not narrow_dashboard.has_no_horizontal_overflow():
                overflowing.append(name)
    finally:
        platform.api("POST", f"/runs/{waiting}/cancel")
    assert overflowing == [], f"pages wider than 375 px: {overflowing}"


def test_every_page_stays_on_its_origin_under_the_csp(dashboard: Dashboard, platform: Platform) -> None:
    page = dashboard.page
    run_id = platform.start_run({"task": "Show the Kubernetes cluster status"})
    platform.finished_run(run_id)

    response = page.goto(f"{platform.url}/#/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    unlabelled: dict[str, list[str]] = {}

    def visit(route: str, ready: str, action: Callable[[], None] | None = None) -> None:
        dashboard.open(route)
        if action is not None:
            action()
        expect(page.locator(ready).first).to_be_visible()
        missing = page.evaluate(UNLABELLED_CONTROLS)
        if missing:
            unlabelled[route] = missing

    visit("/", "text=Run task")
    visit("/", "text=Run template", lambda: page.get_by_text("Use a template", exact=True).click())
    visit("/", "text=Valid: ready to run.", lambda: page.get_by_text("Write a workflow", exact=True).click())
    visit("/history", "tbody tr")
    visit(f"/runs/{run_id}", '[data-step-id][data-status="succeeded"]')
    visit("/approvals", "main h1")
    query_tool = page.locator('[data-tool="database.execute_query"]')
    visit("/tools", '[data-tool="database.execute_query"] form', lambda: query_tool.get_by_text("Try it").click())
    visit("/health", '[data-service="aws"]')
    visit("/no/such/page", "text=Page not found")

    assert unlabelled == {}
    assert len(dashboard.requests) > 10
    assert dashboard.foreign_requests() == []
    assert dashboard.csp_violations == []
    assert dashboard.unexpected_console_errors() == []
    assert dashboard.page_errors == []

    # The watch itself works: an inline style attribute is refused by the CSP and reported.
    page.evaluate("document.body.setAttribute('style', 'outline: 1px solid red')")
    dashboard.wait_for(lambda: dashboard.csp_violations and dashboard.console_errors)
    assert "style-src" in dashboard.csp_violations[0]
    dashboard.csp_violations.clear()
    dashboard.console_errors.clear()


def test_history_filters_and_loads_more(dashboard: Dashboard, platform: Platform) -> None:
    page_size = 25  # the dashboard's
    steps = [{"id": "keys", "tool": "custom.list_keys"}]
    probes = [platform.start_run({"workflow": {"name": f"history_probe_{i}", "steps": steps}}) for i in range(26)]
    for run_id in probes:
        platform.finished_run(run_id)
    page = dashboard.page
    dashboard.open("/history")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(page_size)

    text = page.get_by_label("Title or id contains")
    text.fill("history_probe_1")
    # The newest page holds probes 1 to 25: the text matches _1 and _10 to _19.
    expect(rows).to_have_count(11)
    text.fill(probes[0])  # an id, of the oldest probe: not loaded yet
    expect(page.get_by_text("No loaded run matches that text.")).to_be_visible()
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("history_probe_0")

    with page.expect_request(lambda request: "status=failed" in request.url):
        page.get_by_label("Status").select_option("failed")
    expect(rows).to_have_count(0)
    page.get_by_label("Status").select_option("succeeded")
    expect(rows).to_have_count(0)  # a fresh first page: the oldest probe needs "Load more" again
    page.get_by_role("button", name="Load more").click()
    page.get_by_role("link", name="history_probe_0").click()
    expect(page).to_have_url(f"{platform.url}/#/runs/{probes[0]}")
    expect(page.locator("#run-status")).to_contain_text("succeeded")


def test_the_keyboard_alone_starts_a_task_and_focus_is_visible(dashboard: Dashboard) -> None:
    page = dashboard.page
    dashboard.open("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert skip.bounding_box() is not None and skip.bounding_box()["y"] >= 0  # shown on focus
    page.keyboard.press("Enter")
    task = page.get_by_label("Task", exact=True)
    for _ in range(10):
        if task.evaluate("element => element === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(task).to_be_focused()
    page.keyboard.type("Show the Kubernetes cluster status")
    run = page.get_by_role("button", name="Run task")
    for _ in range(10):
        if run.evaluate("element => element === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(run).to_be_focused()
    outline = run.evaluate(
        "element => getComputedStyle(element).outlineStyle + ' ' + getComputedStyle(element).outlineWidth"
    )
    assert outline == "solid 3px"
    page.keyboard.press("Enter")
    expect(page.locator("#run-status")).to_contain_text("succeeded")
    expect(page.locator("[data-step-id]").first).to_contain_text("kubernetes.get_cluster_status")
