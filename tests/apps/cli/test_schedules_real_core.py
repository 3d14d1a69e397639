"""``schedules`` and ``triggers`` against the agent core's own routes (not the stand-in): list, pause, run now.

The contract the stand-in serves is the one the real routes implement; this checks the command line reads and
changes real schedules the same way, and that a run started now says which schedule started it.
"""

from __future__ import annotations

import json

from tests.apps.cli.conftest import run_cli
from tests.support.agent_core import TERMINAL, CoreClient


def test_add_list_pause_and_run_now_on_the_real_routes(core: CoreClient) -> None:
    added = run_cli(
        "schedules", "add", "real hourly", "--every", "1h", "--task", "echo text 'tick'", "--json", url=core.url
    )
    assert added.returncode == 0, added.stderr
    schedule = json.loads(added.stdout)
    assert schedule["every"] == "@every 1h" and schedule["enabled"] is True and schedule["next_tick"]

    listed = run_cli("schedules", url=core.url)
    assert listed.returncode == 0, listed.stderr
    [row] = [row for row in listed.stdout.splitlines() if row.startswith(schedule["id"])]
    assert "real hourly" in row and "@every 1h" in row and "task: echo text 'tick'" in row and row.endswith("never")

    paused = run_cli("schedules", "pause", schedule["id"], url=core.url)
    assert paused.returncode == 0, paused.stderr
    assert "next tick: paused" in paused.stdout
    assert json.loads(run_cli("schedules", "show", schedule["id"], "--json", url=core.url).stdout)["enabled"] is False

    started = run_cli("schedules", "run", schedule["id"], url=core.url)
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip()
    core.wait_for(run_id, TERMINAL)
    shown = run_cli("show", run_id, url=core.url)
    assert "  trigger:  schedule real hourly (tick manual:" in shown.stdout
    by_schedule = json.loads(run_cli("runs", "--trigger", "schedule", "--json", url=core.url).stdout)
    assert run_id in {run["id"] for run in by_schedule["runs"]}

    after = json.loads(run_cli("schedules", "show", schedule["id"], "--json", url=core.url).stdout)
    assert after["last_run"]["run_id"] == run_id

    assert run_cli("schedules", "delete", schedule["id"], url=core.url).returncode == 0
    gone = run_cli("schedules", "show", schedule["id"], url=core.url)
    assert gone.returncode == 2 and "no schedule with this id" in gone.stderr


def test_triggers_lists_the_built_in_rules(core: CoreClient) -> None:
    result = run_cli("triggers", url=core.url)
    assert result.returncode == 0, result.stderr
    assert "alertname=KubePodCrashLooping" in result.stdout
    names = [rule["name"] for rule in json.loads(run_cli("triggers", "--json", url=core.url).stdout)["rules"]]
    assert len(names) >= 3
