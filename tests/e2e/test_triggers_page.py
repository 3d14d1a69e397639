"""The Triggers page, the run view's trigger line and History's trigger filter, in Chromium.

An agent core of its own (serving the dashboard, with API keys) whose schedule and alert-rule routes are the
contract's stand-in (``tests/support/triggers_api_standin.py``): what the page sends is recorded, roles are the
core's own, and "Run now" starts a real run with a schedule trigger. The session's browser is reused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import ROOT, Dashboard, open_dashboard
from tests.support.agent_core import TERMINAL, CoreClient, Keys, make_keys
from tests.support.lab_server import run_lab_server
from tests.support.triggers_api_standin import TriggersStandIn, builtin_rule, run_core_with_standin

ECHO = {"name": "echo_report", "steps": [{"id": "say", "tool": "lab.echo", "arguments": {"text": "wombat"}}]}
REFUSED = re.compile(r"status of (403|422)")
"""The browser logs each refused request (a viewer's change, a bad cron); the tests that provoke one expect it."""


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


@pytest.fixture(scope="module")
def standin() -> TriggersStandIn:
    return TriggersStandIn(rules=[builtin_rule("crashloop", "KubePodCrashLooping", "cluster_health")])


@pytest.fixture(scope="module")
def core(keys: Keys, standin: TriggersStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreClient]:
    state: Path = tmp_path_factory.mktemp("triggers-page")
    with (
        run_lab_server() as (lab, _),
        run_core_with_standin(
            standin, {"lab": lab}, state, dashboard_dir=ROOT / "dashboard", api_keys=keys.entries_json
        ) as client,
    ):
        yield client


def signed_in(browser: Browser, core: CoreClient, key: str, **options: object) -> Iterator[Dashboard]:
    for dashboard in open_dashboard(browser, core.url, **options):  # type: ignore[arg-type]
        dashboard.page.add_init_script(f"sessionStorage.setItem('agentic.apiKey', {json.dumps(key)})")
        yield dashboard


@pytest.fixture
def operator(browser: Browser, core: CoreClient, keys: Keys) -> Iterator[Dashboard]:
    yield from signed_in(browser, core, keys.operator, allowed_console=(REFUSED,))


@pytest.fixture
def viewer(browser: Browser, core: CoreClient, keys: Keys) -> Iterator[Dashboard]:
    yield from signed_in(browser, core, keys.viewer, allowed_console=(REFUSED,))


def test_pause_resume_and_run_now_which_opens_a_run_saying_what_started_it(
    operator: Dashboard, core: CoreClient, keys: Keys, standin: TriggersStandIn
) -> None:
    schedule = standin.seed(name="hourly echo", every="@every 1h", workflow=ECHO, notify=["team"])
    page = operator.page
    operator.open("/triggers")
    expect(page.locator('[data-nav="triggers"]')).to_have_attribute("aria-current", "page")

    card = page.locator(f'[data-schedule="{schedule["id"]}"]')
    expect(card.locator("h3")).to_have_text("hourly echo")
    expect(card.locator(".badge").first).to_have_text("enabled")
    expect(card).to_contain_text("When@every 1h")
    expect(card).to_contain_text("Runsworkflow echo_report")
    expect(card).to_contain_text(re.compile(r"Next tickin (60 minutes|1 hour)"))
    expect(card).to_contain_text("Last runnever")
    expect(card).to_contain_text("Notifiesteam")

    card.get_by_role("button", name="Pause").click()
    expect(card.locator(".badge").first).to_have_text("paused")
    expect(card).to_contain_text("Next tickpaused")
    expect(page.locator(".notice--success")).to_have_text("Paused “hourly echo”.")
    card.get_by_role("button", name="Resume").click()
    expect(card.locator(".badge").first).to_have_text("enabled")
    patches = standin.requests_to("PATCH", f"/api/schedules/{schedule['id']}")
    assert [json.loads(p.body) for p in patches] == [{"enabled": False}, {"enabled": True}]
    assert {p.caller for p in patches} == {"operator-user"}

    card.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"#/runs/[0-9a-f]{32}$"))
    run_id = page.url.rsplit("/", 1)[1]
    trigger = page.locator("#run-trigger")
    expect(trigger).to_contain_text("Started by schedule hourly echo (tick manual:")
    expect(trigger.locator(".trigger-mark")).to_have_text("schedule")
    core.wait_for(run_id, TERMINAL, key=keys.viewer)
    operator.screenshot("triggers-run-view")

    # A run started through the API: History tells the two apart and filters by what started them.
    api_run = core.start({"workflow": ECHO}, key=keys.operator)
    operator.open(f"/runs/{api_run}")
    expect(page.locator("#run-status .badge")).to_be_visible()
    expect(page.locator("#run-trigger")).to_be_hidden()

    operator.open("/history")
    rows = page.locator("tbody tr")
    expect(rows.locator(f'a[href="#/runs/{run_id}"]')).to_be_visible()
    scheduled_row = page.locator("tbody tr", has=page.locator(f'a[href="#/runs/{run_id}"]'))
    expect(scheduled_row.locator(".trigger-mark")).to_have_text("schedule")
    expect(scheduled_row.locator(".trigger-mark")).to_have_attribute("title", re.compile("^Started by schedule"))
    api_row = page.locator("tbody tr", has=page.locator(f'a[href="#/runs/{api_run}"]'))
    expect(api_row.locator(".trigger-mark")).to_have_count(0)

    page.get_by_label("Started by").select_option("schedule")
    expect(rows.locator(f'a[href="#/runs/{api_run}"]')).to_have_count(0)
    expect(rows.locator(f'a[href="#/runs/{run_id}"]')).to_be_visible()
    page.get_by_label("Started by").select_option("api")
    expect(rows.locator(f'a[href="#/runs/{run_id}"]')).to_have_count(0)
    expect(rows.locator(f'a[href="#/runs/{api_run}"]')).to_be_visible()
    page.get_by_label("Started by").select_option("alert")
    expect(page.locator(".empty")).to_have_text("No runs started by an alert.")

    operator.open("/triggers")
    expect(card.locator(".badge").nth(1)).to_have_text("succeeded")
    expect(card.get_by_role("link", name="Open the run")).to_have_attribute("href", f"#/runs/{run_id}")


def test_new_schedule_lists_the_platforms_problems_then_adds_it(operator: Dashboard, standin: TriggersStandIn) -> None:
    page = operator.page
    operator.open("/triggers")
    page.locator("summary", has_text="New schedule").click()
    form = page.get_by_role("form", name="New schedule")
    form.get_by_label("Name").fill("weekday health")
    form.get_by_label("Cron expression").fill("0 6 * *")
    form.get_by_label("Time zone").fill("Europe/Paris")
    form.get_by_label("Template", exact=True).select_option("cluster_health")
    form.get_by_label("Ticks missed while no replica ran").select_option("skip")
    form.get_by_role("button", name="Add schedule").click()
    expect(form.locator(".notice--error")).to_contain_text("cron must have 5 fields")

    form.get_by_label("Cron expression").fill("0 6 * * 1-5")
    form.get_by_role("button", name="Add schedule").click()
    expect(page.locator(".notice--success")).to_have_text("Schedule “weekday health” added.")
    card = page.locator("[data-schedule]", has=page.locator("h3", has_text="weekday health"))
    expect(card).to_contain_text("When0 6 * * 1-5 (Europe/Paris)")
    expect(card).to_contain_text("Runstemplate cluster_health")
    expect(card).to_contain_text("Missed ticksskipped")
    created = json.loads(standin.requests_to("POST", "/api/schedules")[-1].body)
    assert created == {
        "name": "weekday health",
        "catch_up": "skip",
        "cron": "0 6 * * 1-5",
        "timezone": "Europe/Paris",
        "template": "cluster_health",
        "inputs": {},
    }

    # Every so often, a task: "5m" is sent as the contract spells it.
    page.locator("summary", has_text="New schedule").click()
    form.get_by_label("Name").fill("five minutely")
    form.get_by_text("Every so often").click()
    form.get_by_label("Every", exact=True).fill("5m")
    form.get_by_text("A task").click()
    form.get_by_label("Task", exact=True).fill("look at the cluster")
    form.get_by_role("button", name="Add schedule").click()
    expect(page.locator("[data-schedule] h3", has_text="five minutely")).to_be_visible()
    body = json.loads(standin.requests_to("POST", "/api/schedules")[-1].body)
    assert body == {"name": "five minutely", "catch_up": "latest", "every": "@every 5m", "task": "look at the cluster"}


def test_delete_asks_first_and_keep_it_changes_nothing(operator: Dashboard, standin: TriggersStandIn) -> None:
    schedule = standin.seed(name="to be deleted", cron="0 0 * * *", task="nothing much")
    page = operator.page
    operator.open("/triggers")
    card = page.locator(f'[data-schedule="{schedule["id"]}"]')
    card.get_by_role("button", name="Delete…").click()
    question = card.get_by_role("group", name="Confirm delete")
    expect(question).to_contain_text("Delete the schedule “to be deleted”?")
    question.get_by_role("button", name="Keep it").click()
    expect(question).to_have_count(0)
    assert standin.requests_to("DELETE", f"/api/schedules/{schedule['id']}") == []

    card.get_by_role("button", name="Delete…").click()
    card.get_by_role("button", name="Delete it").click()
    expect(card).to_have_count(0)
    expect(page.locator(".notice--success")).to_contain_text("Deleted “to be deleted”.")
    assert schedule["id"] not in standin.schedules


def test_a_viewer_reads_everything_and_is_offered_no_change(viewer: Dashboard, standin: TriggersStandIn) -> None:
    schedule = standin.seed(name="viewer sees", every="@every 30s", task="look")
    page = viewer.page
    viewer.open("/triggers")
    card = page.locator(f'[data-schedule="{schedule["id"]}"]')
    expect(card.locator("h3")).to_have_text("viewer sees")
    rule = page.locator('[data-rule="crashloop"]')
    expect(rule).to_contain_text("Matchesalertname=KubePodCrashLooping")
    expect(rule).to_contain_text("Runstemplate cluster_health")
    expect(rule).to_contain_text("Inputspod={{ alert.labels.pod }}")
    expect(rule).to_contain_text("Limitscool-down 15 min, at most 5 runs per 60 min")
    expect(rule.locator(".badge")).to_have_text("built in")

    # /api/me says the key is a viewer: no button to press and be refused, no form.
    expect(page.get_by_text("can read schedules but not change them")).to_be_visible()
    expect(page.locator("[data-schedule] button")).to_have_count(0)
    expect(page.locator("summary", has_text="New schedule")).to_be_hidden()
    assert standin.schedules[schedule["id"]]["enabled"] is True


def test_the_page_fits_a_phone(browser: Browser, core: CoreClient, keys: Keys, standin: TriggersStandIn) -> None:
    standin.seed(name="a schedule with a rather long name for a phone", cron="*/15 8-18 * * 1-5", task="look")
    for phone in signed_in(browser, core, keys.operator, width=375, height=740):
        phone.open("/triggers")
        expect(phone.page.locator("[data-schedule]").first).to_be_visible()
        expect(phone.page.locator("[data-rule]").first).to_be_visible()
        assert phone.has_no_horizontal_overflow()
        phone.screenshot("triggers-phone")
