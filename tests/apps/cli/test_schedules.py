"""``schedules``, ``triggers``, ``runs --trigger`` and ``show``'s trigger line, as real processes.

The schedule and alert-rule routes are the contract's stand-in (``tests/support/triggers_api_standin.py``) inside
a real agent core with API keys: roles are the core's own, and "run now" starts a real run with a schedule
trigger, so what ``show`` and ``runs --trigger`` print comes from the real run store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.apps.cli.conftest import run_cli
from tests.support.agent_core import TERMINAL, CoreClient, Keys, make_keys
from tests.support.lab_server import LabState
from tests.support.triggers_api_standin import TriggersStandIn, builtin_rule, run_core_with_standin

ECHO = {"name": "echo_report", "steps": [{"id": "say", "tool": "lab.echo", "arguments": {"text": "wombat"}}]}


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


@pytest.fixture(scope="module")
def standin() -> TriggersStandIn:
    return TriggersStandIn(
        rules=[
            builtin_rule("crashloop", "KubePodCrashLooping", "cluster_health"),
            {
                **builtin_rule("db-down", "DatabaseDown", "database_report"),
                "source": "file",
                "match": {"labels": {"alertname": "DatabaseDown"}, "labels_regex": {"namespace": "prod-.*"}},
                "notify": ["oncall"],
                "enabled": False,
            },
        ]
    )


@pytest.fixture(scope="module")
def core(
    lab: tuple[str, LabState], keys: Keys, standin: TriggersStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CoreClient]:
    state = tmp_path_factory.mktemp("schedules-cli")
    with run_core_with_standin(standin, {"lab": lab[0]}, state, api_keys=keys.entries_json) as client:
        yield client


def test_add_list_show_pause_resume_delete(core: CoreClient, keys: Keys, standin: TriggersStandIn) -> None:
    added = run_cli(
        "schedules", "add", "morning report", "--cron", "0 6 * * 1-5", "--tz", "Europe/Paris",
        "--template", "cluster_health", "--input", "namespace=prod", "--catch-up", "skip", "--notify", "team",
        url=core.url, AGENTIC_API_KEY=keys.operator,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    [create] = standin.requests_to("POST", "/api/schedules")
    assert json.loads(create.body) == {
        "name": "morning report",
        "cron": "0 6 * * 1-5",
        "timezone": "Europe/Paris",
        "template": "cluster_health",
        "inputs": {"namespace": "prod"},
        "catch_up": "skip",
        "notify": ["team"],
        "enabled": True,
    }
    assert create.caller == "operator-user"
    schedule_id = added.stdout.split()[2]
    assert added.stdout.startswith(f"Added schedule {schedule_id} (morning report)")
    assert "when:      0 6 * * 1-5 Europe/Paris (missed ticks: skip)" in added.stdout

    listed = run_cli("schedules", url=core.url, AGENTIC_API_KEY=keys.viewer)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "WHEN", "RUNS", "NEXT", "LAST", "RUN"]
    [row] = [row for row in rows if row.startswith(schedule_id)]
    assert "0 6 * * 1-5 Europe/Paris" in row and "template cluster_health" in row and row.endswith("never")

    paused = run_cli("schedules", "pause", schedule_id, url=core.url, AGENTIC_API_KEY=keys.operator)
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith(f"Paused schedule {schedule_id} (morning report)")
    assert "next tick: paused" in paused.stdout
    resumed = run_cli("schedules", "resume", schedule_id, "--json", url=core.url, AGENTIC_API_KEY=keys.operator)
    assert json.loads(resumed.stdout)["enabled"] is True
    patches = standin.requests_to("PATCH", f"/api/schedules/{schedule_id}")
    assert [json.loads(p.body) for p in patches] == [{"enabled": False}, {"enabled": True}]

    shown = run_cli("schedules", "show", schedule_id, url=core.url, AGENTIC_API_KEY=keys.viewer)
    assert shown.stdout.startswith(f"Schedule {schedule_id} · morning report · enabled")
    assert 'inputs:    {"namespace": "prod"}' in shown.stdout and "notify:    team" in shown.stdout

    deleted = run_cli("schedules", "delete", schedule_id, url=core.url, AGENTIC_API_KEY=keys.operator)
    assert deleted.returncode == 0, deleted.stderr
    gone = run_cli("schedules", "show", schedule_id, url=core.url, AGENTIC_API_KEY=keys.viewer)
    assert gone.returncode == 2 and "no schedule with this id" in gone.stderr


def test_run_now_starts_a_run_that_says_which_schedule_started_it(
    core: CoreClient, keys: Keys, standin: TriggersStandIn
) -> None:
    schedule = standin.seed(name="echo every minute", every="@every 1m", workflow=ECHO)
    started = run_cli("schedules", "run", schedule["id"], url=core.url, AGENTIC_API_KEY=keys.operator)
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip()
    assert f"show {run_id} --follow" in started.stderr
    core.wait_for(run_id, TERMINAL, key=keys.viewer)

    shown = run_cli("show", run_id, url=core.url, AGENTIC_API_KEY=keys.viewer)
    [line] = [line for line in shown.stdout.splitlines() if line.startswith("  trigger:")]
    assert line.startswith("  trigger:  schedule echo every minute (tick manual:")

    api_run = core.start({"workflow": ECHO}, key=keys.operator)
    by_schedule = run_cli("runs", "--trigger", "schedule", url=core.url, AGENTIC_API_KEY=keys.viewer)
    assert by_schedule.returncode == 0, by_schedule.stderr
    [row] = [row for row in by_schedule.stdout.splitlines() if row.startswith(run_id)]
    assert row.endswith("[schedule echo every minute] echo_report")
    assert api_run not in by_schedule.stdout
    by_api = json.loads(run_cli("runs", "--trigger", "api", "--json", url=core.url, AGENTIC_API_KEY=keys.viewer).stdout)
    assert {run["trigger"]["kind"] for run in by_api["runs"]} == {"api"} and api_run in {
        r["id"] for r in by_api["runs"]
    }
    none = run_cli("runs", "--trigger", "alert", url=core.url, AGENTIC_API_KEY=keys.viewer)
    assert none.stdout.strip() == "No runs started by alert."

    listed = run_cli("schedules", url=core.url, AGENTIC_API_KEY=keys.viewer)
    [row] = [row for row in listed.stdout.splitlines() if row.startswith(schedule["id"])]
    assert row.endswith(f"succeeded · run {run_id}") and " in " in row, "the next tick, a minute away at most"


def test_refusals_name_every_problem_and_exit_as_documented(
    core: CoreClient, keys: Keys, standin: TriggersStandIn
) -> None:
    before = len(standin.requests)
    bad_cron = run_cli(
        "schedules", "add", "x", "--cron", "0 6 * *", "--task", "look",
        url=core.url, AGENTIC_API_KEY=keys.operator,
    )  # fmt: skip
    assert bad_cron.returncode == 2
    assert "cron must have 5 fields" in bad_cron.stderr

    tz_without_cron = run_cli(
        "schedules", "add", "x", "--every", "5m", "--tz", "UTC", "--task", "look",
        url=core.url, AGENTIC_API_KEY=keys.operator,
    )  # fmt: skip
    assert tz_without_cron.returncode == 2 and "--tz applies to --cron" in tz_without_cron.stderr
    not_a_duration = run_cli("schedules", "add", "x", "--every", "soon", "--task", "look", url=core.url)
    assert not_a_duration.returncode == 2 and "not a duration like 30s" in not_a_duration.stderr
    assert len(standin.requests) == before + 1, "only the bad cron reached the platform"

    schedule = standin.seed(name="guarded", every="@every 1h", task="look around")
    as_viewer = run_cli("schedules", "pause", schedule["id"], "--json", url=core.url, AGENTIC_API_KEY=keys.viewer)
    assert as_viewer.returncode == 5 and "not allowed (403)" in as_viewer.stderr
    assert json.loads(as_viewer.stdout)["message"].endswith("does not have the operator role")
    assert standin.schedules[schedule["id"]]["enabled"] is True

    unknown = run_cli("schedules", "run", "nope", url=core.url, AGENTIC_API_KEY=keys.operator)
    assert unknown.returncode == 2 and "no schedule with this id" in unknown.stderr


def test_triggers_lists_each_rule_with_match_target_limits_and_last_run(core: CoreClient, keys: Keys) -> None:
    result = run_cli("triggers", url=core.url, AGENTIC_API_KEY=keys.viewer)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split("\n\n")
    assert first.splitlines() == [
        "crashloop · builtin",
        "  match:    alertname=KubePodCrashLooping",
        "  runs:     template cluster_health",
        "  inputs:   pod={{ alert.labels.pod }}",
        "  limits:   cool-down 15m00s, 5 runs per 1h00m",
        "  last run: never",
    ]
    assert second.splitlines()[0] == "db-down · file · disabled"
    assert "  match:    alertname=DatabaseDown namespace=~prod-.*" in second
    assert "  notify:   oncall" in second
    as_json = json.loads(run_cli("triggers", "--json", url=core.url, AGENTIC_API_KEY=keys.viewer).stdout)
    assert [rule["name"] for rule in as_json["rules"]] == ["crashloop", "db-down"]
