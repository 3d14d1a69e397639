"""Every tick of a schedule runs exactly once across replicas, also when one of them is SIGKILLed mid-schedule.

Two real ``python -m apps.agent_core`` processes share one store (a SQLite file; a DynamoDB table on moto's
server) and both run the scheduler. An ``@every 5s`` schedule runs for 30 s; replica ``a`` is SIGKILLed at a tick's
moment, when it is most likely between choosing the tick and creating its run. The schedule is then paused, well
away from a tick, and the runs listed with ``?trigger=schedule`` are grouped by their tick.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.apps.agent_core.durability.support import finished, replica_env, two_replicas
from tests.support.lab_server import LabState

pytestmark = pytest.mark.slow

EVERY = 5
WINDOW = 30
KILL_AFTER = 15
PAUSE_AFTER_LAST_TICK = 2.5
"""The schedule is paused this long after the window's last tick: far enough from it and from the next one that
whether a tick ran never depends on the pause racing it."""
TICK_WORKFLOW = {
    "name": "tick",
    "steps": [{"id": "echo", "tool": "lab.slow_echo", "arguments": {"text": "tick", "seconds": 0.1}}],
}


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def next_tick(moment: float) -> int:
    """The first ``@every 5s`` tick strictly after ``moment`` (ticks are multiples of 5 s since the epoch)."""
    return (int(moment) // EVERY + 1) * EVERY


def schedule_runs(http: httpx.Client) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):  # pages of 200: far more than the window can start
        params = {"trigger": "schedule", "limit": "200", **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/runs", params=params)
        assert page.status_code == 200, page.text
        runs += page.json()["runs"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return runs
    raise AssertionError("too many pages of schedule runs")


def test_every_tick_runs_exactly_once_across_two_replicas_when_one_is_sigkilled(
    lab: tuple[str, LabState], store_env: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = store_env
    with two_replicas({**replica_env(url, lab[0]), **env}, tmp_path) as (running, on_a, on_b):
        created = on_a.post(
            "/api/schedules", json={"name": "every 5 s", "every": "@every 5s", "workflow": TICK_WORKFLOW}
        )
        assert created.status_code == 201, created.text
        schedule = created.json()
        first = next_tick(schedule["created_at"])
        last = next_tick(schedule["created_at"] + WINDOW - EVERY)
        assert schedule["next_tick"] == datetime.fromtimestamp(first, UTC).isoformat()

        killed_at = first + KILL_AFTER - KILL_AFTER % EVERY  # a tick's moment: a's pass may be starting it
        sleep_until(killed_at)
        running["a"].process.send_signal(signal.SIGKILL)

        sleep_until(last + PAUSE_AFTER_LAST_TICK)
        paused = on_b.patch(f"/api/schedules/{schedule['id']}", json={"enabled": False})
        assert paused.status_code == 200 and paused.json()["next_tick"] is None, paused.text
        time.sleep(1.5)  # a pass that read the schedule before the pause has ended
        runs = schedule_runs(on_b)

        expected = [datetime.fromtimestamp(tick, UTC).isoformat() for tick in range(first, last + 1, EVERY)]
        seen = Counter(run["trigger"]["detail"]["tick"] for run in runs)
        ready = {name: round(service.seconds_to_ready, 1) for name, service in running.items()}
        print(f"ticks expected {len(expected)}, seen {len(seen)}, runs {len(runs)}; replicas ready in {ready} s")
        assert sorted(seen) == expected, (expected, seen)
        assert set(seen.values()) == {1}, seen
        assert {run["trigger"]["id"] for run in runs} == {schedule["id"]}
        # Each run also finishes: one a was running when it died is resumed by b once its lease lapses.
        for run in runs:
            assert finished(on_b, run["id"], timeout=20)["status"] == "succeeded", run
        view = on_b.get(f"/api/schedules/{schedule['id']}").json()
        assert view["last_run"]["tick"] == expected[-1] and view["last_run"]["status"] == "succeeded", view
