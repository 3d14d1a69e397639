"""History's layout (issue 17): a table the page scrolls at desktop width, a card per run on a phone.

At 1280 px the table used to sit in a 32rem box with its own scroll bar inside the page's; at 375 px that box
scrolled sideways, so Started, Duration and Tokens were out of sight and a long status badge was cut.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Locator, expect

from tests.e2e.conftest import Dashboard, Platform, open_dashboard

FIELDS = ("Run", "Status", "Started", "Duration", "Tokens")

# Each cell of a row: its box, the row's, whether it is what is drawn at its centre (nothing covers or clips
# it), and its badge's box where it has one.
ROW_GEOMETRY = """
(row) => {
  const box = (element) => {
    const r = element.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height };
  };
  return {
    row: box(row),
    viewport: document.documentElement.clientWidth,
    cells: [...row.cells].map((cell) => {
      const r = cell.getBoundingClientRect();
      const atCentre = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height / 2, 10));
      const badge = cell.querySelector(".badge");
      return {
        label: cell.dataset.label ?? "Run",
        text: cell.innerText.trim(),
        box: box(cell),
        drawn: atCentre !== null && cell.contains(atCentre),
        badge: badge && box(badge),
      };
    }),
  };
}
"""

# What each cell's ::before draws: its computed content is '"Started" / ""' (text, then its alternative).
LABELS_ON_SCREEN = """
(row) => [...row.cells]
  .map((cell) => getComputedStyle(cell, "::before").content.match(/^"([^"]*)"/)?.[1])
  .filter(Boolean)
"""

# Elements around the table that scroll on their own: an overflow of auto or scroll, and more content than height.
INNER_SCROLLERS = """
(table) => {
  const found = [];
  for (let element = table; element && element !== document.body; element = element.parentElement) {
    const style = getComputedStyle(element);
    const scrolls = ["auto", "scroll"].includes(style.overflowY) && element.scrollHeight > element.clientHeight;
    if (scrolls) found.push(`${element.tagName.toLowerCase()}.${element.className} (max-height ${style.maxHeight})`);
  }
  return found;
}
"""


def inside(inner: dict[str, float], outer: dict[str, float], slack: float = 0.5) -> bool:
    return (
        inner["left"] >= outer["left"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["top"] >= outer["top"] - slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


def row_of(dashboard: Dashboard, run_id: str) -> Locator:
    return dashboard.page.locator("tbody tr", has=dashboard.page.locator(f'a[href="#/runs/{run_id}"]'))


def test_on_a_phone_each_run_is_a_card_showing_every_field(narrow_dashboard: Dashboard, platform: Platform) -> None:
    # The longest badge ("awaiting approval") and a failed run among them.
    waiting = platform.start_run({"workflow": platform.scale_workflow("history_card_waiting", replicas=0)})
    bad_query = {"id": "query", "tool": "database.execute_query", "arguments": {"sql": "SELECT * FROM no_such"}}
    failed = platform.start_run({"workflow": {"name": "history_card_failed", "steps": [bad_query]}})
    assert platform.finished_run(failed)["status"] == "failed"
    page = narrow_dashboard.page
    problems: list[str] = []
    try:
        narrow_dashboard.open("/history")
        expect(row_of(narrow_dashboard, waiting).locator(".badge")).to_have_text("awaiting approval")
        narrow_dashboard.screenshot("history-narrow")
        assert narrow_dashboard.has_no_horizontal_overflow(), "the page scrolls sideways"
        for run_id, status in ((waiting, "awaiting approval"), (failed, "failed")):
            row = row_of(narrow_dashboard, run_id)
            row.scroll_into_view_if_needed()
            geometry: dict[str, Any] = row.evaluate(ROW_GEOMETRY)
            card = geometry["row"]
            if not (card["left"] >= 0 and card["right"] <= geometry["viewport"]):
                problems.append(f"{status}: the card is wider than the screen: {card}")
            for cell in geometry["cells"]:
                if not (cell["text"] and cell["drawn"] and inside(cell["box"], card) and cell["label"] in FIELDS):
                    problems.append(f"{status}: {cell['label']} is not shown within its card: {cell}")
            badge = geometry["cells"][1]["badge"]
            if not (inside(badge, card) and badge["right"] <= geometry["viewport"]):
                problems.append(f"{status}: the badge is clipped: {badge} in {card}")
            # Each field is named on screen (the header row is out of sight), by the cell's ::before.
            shown_labels = row.evaluate(LABELS_ON_SCREEN)
            if shown_labels != list(FIELDS[1:]):
                problems.append(f"{status}: labels on screen {shown_labels}")
        assert problems == []
        # Still a table to a screen reader, its header row included.
        expect(page.get_by_role("table", name="Runs")).to_be_visible()
        expect(page.get_by_role("columnheader")).to_have_text(list(FIELDS))
    finally:
        platform.api("POST", f"/runs/{waiting}/cancel")


def test_at_desktop_width_the_page_scrolls_not_the_table(dashboard: Dashboard, platform: Platform) -> None:
    steps = [{"id": "keys", "tool": "custom.list_keys"}]
    runs = [platform.start_run({"workflow": {"name": f"history_tall_{i}", "steps": steps}}) for i in range(20)]
    for run_id in runs:
        platform.finished_run(run_id)
    page = dashboard.page
    dashboard.open("/history")
    table = page.locator("main table")
    expect(table.locator("tbody tr").nth(len(runs) - 1)).to_be_attached()
    assert page.evaluate("document.documentElement.scrollHeight > window.innerHeight"), "too few rows to tell"
    assert table.evaluate(INNER_SCROLLERS) == []
    expect(page.get_by_role("table", name="Runs")).to_be_visible()
    assert table.evaluate("table => getComputedStyle(table).display") == "table"
    expect(table.locator("thead")).to_be_visible()
    assert dashboard.has_no_horizontal_overflow()
    dashboard.screenshot("history-wide")


def test_just_wider_than_a_card_the_table_fits(browser: Browser, platform: Platform) -> None:
    # The widest a row gets: the longest badge and a name with no place to break.
    waiting = platform.start_run({"workflow": platform.scale_workflow("history_wide_" + "x" * 48, replicas=0)})
    try:
        for width in (769, 1024):  # the cards end at 48rem (768 px)
            for dashboard in open_dashboard(browser, platform.url, width=width):
                dashboard.open("/history")
                expect(row_of(dashboard, waiting).locator(".badge")).to_have_text("awaiting approval")
                assert dashboard.page.locator("thead").is_visible(), f"not a table at {width} px"
                assert dashboard.has_no_horizontal_overflow(), f"the page scrolls sideways at {width} px"
    finally:
        platform.api("POST", f"/runs/{waiting}/cancel")
