"""Starting runs from the dashboard and watching them: a template, a free-text task, an approval."""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import Route, expect

from tests.e2e.conftest import Dashboard, Platform

RUN_URL = re.compile(r"#/runs/([0-9a-f]+)$")
ORDERS_SQL = "SELECT status, count(*) AS n FROM orders GROUP BY status"


def run_id_of(dashboard: Dashboard) -> str:
    expect(dashboard.page).to_have_url(RUN_URL)
    found = RUN_URL.search(dashboard.page.url)
    assert found is not None
    return found.group(1)


def test_weather_template_streams_its_steps_live(dashboard: Dashboard, platform: Platform) -> None:
    # The fake wttr.in answers slowly once, so the weather step is seen running before it finishes.
    platform.wttr.hang_next(1, seconds=2.0)
    page = dashboard.page
    dashboard.open("/")
    page.get_by_text("Use a template", exact=True).click()
    page.get_by_label("Template", exact=True).select_option("weather_to_store")
    page.get_by_label("location", exact=True).fill("London")
    dashboard.screenshot("01-start-template")
    page.get_by_role("button", name="Run template").click()
    run_id = run_id_of(dashboard)

    weather = page.locator('[data-step-id="weather"]')
    expect(weather).to_have_attribute("data-status", "running")
    expect(page.locator("#run-status")).to_contain_text("running")
    expect(page.locator('[data-step-id="store"]')).to_have_count(0)
    dashboard.screenshot("02-weather-run-live")

    expect(weather).to_have_attribute("data-status", "succeeded")
    store = page.locator('[data-step-id="store"]')
    expect(store).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#run-status")).to_contain_text("succeeded")
    expect(weather).to_contain_text("custom.get_weather")
    expect(weather).to_contain_text('"location": "London"')
    expect(weather).to_contain_text(re.compile(r"took \d"))
    expect(store).to_contain_text("custom.store_data")
    expect(store).to_contain_text('"key": "weather/London"')
    expect(page.get_by_role("heading", name="Final answer")).to_be_visible()
    dashboard.screenshot("03-weather-run-finished")

    assert any(url.endswith(f"/api/runs/{run_id}/events") for url in dashboard.requests), "no event stream opened"
    assert [request.path for request in platform.wttr.requests][-1] == "/London"


def test_database_question_shows_rows_as_a_table(dashboard: Dashboard, platform: Platform) -> None:
    with sqlite3.connect(platform.database_path) as connection:
        expected = [[str(cell) for cell in row] for row in connection.execute(ORDERS_SQL)]
    page = dashboard.page
    dashboard.open("/")
    page.get_by_label("Task", exact=True).fill(f'How many orders per status? "{ORDERS_SQL}"')
    page.get_by_role("button", name="Run task").click()
    run_id_of(dashboard)

    step = page.locator('[data-step-id][data-status="succeeded"]', has_text="database.execute_query")
    table = step.locator("table")
    expect(table).to_be_visible()
    expect(table.locator("thead th")).to_have_text(["status", "n"])
    expect(table.locator("tbody tr")).to_have_count(len(expected))
    rows = [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]
    assert rows == expected
    expect(page.locator("#run-status")).to_contain_text("succeeded")
    expect(page.get_by_role("heading", name="Model turns")).to_be_visible()
    dashboard.screenshot("04-database-table")


def test_scale_deployment_waits_for_approval_then_runs(dashboard: Dashboard, platform: Platform) -> None:
    patches_before = platform.kube.scale_patches_applied
    replicas = platform.replicas + 1
    page = dashboard.page
    dashboard.open("/tools")
    card = page.locator('[data-tool="kubernetes.scale_deployment"]')
    expect(card).to_contain_text("destructive")
    card.get_by_text("Try it").click()
    card.get_by_label("Namespace", exact=True).fill(platform.namespace)
    card.get_by_label("Name", exact=True).fill(platform.deployment)
    card.get_by_label("Replicas", exact=True).fill(str(replicas))
    dashboard.screenshot("05-try-scale-deployment")
    card.get_by_role("button", name="Start run").click()
    run_id = run_id_of(dashboard)

    expect(page.locator("#run-status")).to_contain_text("awaiting approval")
    expect(page.locator('[data-step-id="call"]')).to_have_attribute("data-status", "awaiting_approval")
    assert platform.kube.scale_patches_applied == patches_before, "scaled before anyone approved"

    page.get_by_role("link", name="Approvals").click()
    approval = page.locator(f'.approval:has(a[href="#/runs/{run_id}"])')
    expect(approval).to_contain_text("kubernetes.scale_deployment")
    arguments = approval.locator("pre")
    expect(arguments).to_contain_text(f'"namespace": "{platform.namespace}"')
    expect(arguments).to_contain_text(f'"name": "{platform.deployment}"')
    expect(arguments).to_contain_text(f'"replicas": {replicas}')
    dashboard.screenshot("06-approval-queue")
    approval.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved kubernetes.scale_deployment")).to_be_visible()

    run = platform.finished_run(run_id)
    assert run["status"] == "succeeded", run["error"]
    page.get_by_role("link", name="Open the run").click()
    expect(page.locator("#run-status")).to_contain_text("succeeded")
    step = page.locator('[data-step-id="call"]')
    expect(step).to_have_attribute("data-status", "succeeded")
    expect(step).to_contain_text(f'"new_replicas": {replicas}')
    dashboard.screenshot("07-approved-run")
    assert platform.kube.scale_patches_applied == patches_before + 1


def test_workflow_editor_shows_the_apis_problems_before_running(dashboard: Dashboard) -> None:
    page = dashboard.page
    dashboard.open("/")
    page.get_by_text("Write a workflow", exact=True).click()
    editor = page.get_by_label("Workflow document (JSON or YAML)")
    editor.fill('{"name": "Not Valid", "steps": [{"id": "keys", "tool": "custom.list_keys"}]}')
    problems = page.locator(".notice--error")
    expect(problems).to_contain_text("is not a valid name")
    expect(editor).to_have_attribute("aria-invalid", "true")
    dashboard.screenshot("11-workflow-problems")

    # Running is refused until the API says the document is valid.
    page.get_by_role("button", name="Validate and run").click()
    expect(problems).to_contain_text("is not a valid name")
    assert "#/runs/" not in page.url

    editor.fill('{"name": "list_every_key", "steps": [{"id": "keys", "tool": "custom.list_keys"}]}')
    expect(page.get_by_text("Valid: ready to run.")).to_be_visible()
    page.get_by_role("button", name="Validate and run").click()
    run_id_of(dashboard)
    expect(page.locator('[data-step-id="keys"]')).to_have_attribute("data-status", "succeeded")
    expect(page.locator("main h1")).to_have_text("list_every_key")


def test_a_waiting_run_can_be_cancelled(dashboard: Dashboard, platform: Platform) -> None:
    patches_before = platform.kube.scale_patches_applied
    run_id = platform.start_run({"workflow": platform.scale_workflow("cancel_me", replicas=0)})
    page = dashboard.page
    dashboard.open(f"/runs/{run_id}")
    expect(page.locator("#run-status")).to_contain_text("awaiting approval")
    expect(page.locator(".approval")).to_be_visible()
    page.get_by_role("button", name="Cancel run").click()
    expect(page.locator("#run-status")).to_contain_text("cancelled")
    expect(page.locator(".approval")).to_have_count(0)
    expect(page.locator('[data-step-id="call"] .badge')).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Run again")).to_be_visible()
    assert platform.kube.scale_patches_applied == patches_before


def test_live_view_resumes_the_stream_with_last_event_id(dashboard: Dashboard, platform: Platform) -> None:
    run_id = platform.start_run({"workflow": platform.scale_workflow("resume_stream", replicas=0, step_id="wait")})
    page = dashboard.page
    streams: list[dict[str, str]] = []

    def drop_the_first_stream(route: Route) -> None:
        streams.append(route.request.headers)
        if len(streams) == 1:  # the connection ends before the run does, as a proxy might cut it
            route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=": ping\n\n")
        else:
            route.continue_()

    page.route(f"**/api/runs/{run_id}/events", drop_the_first_stream)
    dashboard.open(f"/runs/{run_id}")
    approval = page.locator(".approval")
    expect(approval).to_be_visible()
    dashboard.wait_for(lambda: len(streams) == 2)
    expect(page.get_by_text("Following live.")).to_be_visible()
    # The page asks again for the last event it saw (it may have been run_finished), and resumes from the same.
    seen = platform.api("GET", f"/runs/{run_id}").json()["last_event_id"]
    assert seen > 1
    assert [headers.get("last-event-id") for headers in streams] == [str(seen - 1), str(seen - 1)]

    # The second stream is live: the decision and what follows arrive without a reload.
    approval.get_by_role("button", name="Reject").click()
    expect(page.locator("#run-status")).to_contain_text("failed")
    expect(page.locator('[data-step-id="wait"]')).to_have_attribute("data-status", "rejected")


def test_the_approval_notice_follows_the_step_it_approved(dashboard: Dashboard, platform: Platform) -> None:
    # The fake cluster answers slowly, so the approved step is seen running before it ends.
    run_id = platform.start_run({"workflow": platform.scale_workflow("approve_here", replicas=platform.replicas)})
    page = dashboard.page
    dashboard.open(f"/runs/{run_id}")
    step = page.locator('[data-step-id="call"]')
    expect(step).to_have_attribute("data-status", "awaiting_approval")
    platform.kube.state.delay_seconds = 1.0
    try:
        page.locator(".approval").get_by_role("button", name="Approve").click()
        expect(step).to_have_attribute("data-status", "running")
        expect(page.get_by_text("Approved: the step runs now.")).to_be_visible()
    finally:
        platform.kube.state.delay_seconds = 0.0
    expect(step).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#run-status")).to_contain_text("succeeded")
    expect(page.get_by_text("Approved: the step runs now.")).to_have_count(0)
    expect(page.get_by_text("Approved: step call ran and succeeded.")).to_be_visible()
