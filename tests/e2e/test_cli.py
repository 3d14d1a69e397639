"""The command line against the platform as ``make dev`` starts it: steps stream, the exit code tells the outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import Platform

ROOT = Path(__file__).resolve().parents[2]


def cli(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", "--url", platform.url, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_run_streams_the_steps_and_exits_0_on_success(platform: Platform) -> None:
    # Seattle: the dashboard's test stores London, and a second run there would wait for approval to replace it.
    done = cli(platform, "run", "--template", "weather_to_store", "--input", "location=Seattle")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "get_weather" in done.stdout and "store_data" in done.stdout
    assert "succeeded" in done.stdout


def test_cli_run_exits_non_zero_when_the_run_fails(platform: Platform, tmp_path: Path) -> None:
    workflow = tmp_path / "broken.json"
    workflow.write_text(
        json.dumps(
            {
                "name": "broken",
                "steps": [{"id": "q", "tool": "database.execute_query", "arguments": {"sql": "DELETE FROM orders"}}],
            }
        )
    )
    done = cli(platform, "run", "--workflow", str(workflow))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "execute_query" in done.stdout and "failed" in done.stdout
