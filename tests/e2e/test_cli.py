"""The command line against the platform as ``make dev`` starts it: steps stream, the exit code tells the outcome.

The CLI runs with stdin on /dev/null, as in a script or CI job: no terminal, so nobody to ask.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import Platform

ROOT = Path(__file__).resolve().parents[2]
EXIT_4_WITHIN_SECONDS = 10.0
"""Far under the approval's 15 minutes: exit 4 comes when the run waits, not when its approval lapses."""


def cli_command(platform: Platform, *args: str) -> list[str]:
    return [sys.executable, "-m", "apps.cli", "--url", platform.url, *args]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(platform: Platform, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(platform, *args),
        cwd=ROOT,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def scale_file(platform: Platform, tmp_path: Path, name: str, replicas: int | None = None) -> str:
    """A workflow that scales the fake cluster's deployment (by default to the count it has): it waits for approval."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(platform.scale_workflow(name, platform.replicas if replicas is None else replicas)))
    return str(path)


def waiting_run(platform: Platform, title: str, timeout: float = 15.0) -> dict[str, object]:
    """The run called ``title`` once it waits for approval, as the API lists it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in platform.api("GET", "/runs?status=awaiting_approval").json()["runs"]:
            if run["title"] == title:
                return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"no run {title!r} waiting for approval within {timeout:g}s")


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


def test_cli_run_without_a_terminal_exits_4_once_the_run_waits_for_approval(platform: Platform, tmp_path: Path) -> None:
    patches = platform.kube.scale_patches_applied
    began = time.monotonic()
    done = cli(platform, "run", "-w", scale_file(platform, tmp_path, "cli_exit_4"), timeout=EXIT_4_WITHIN_SECONDS + 5)
    took = time.monotonic() - began
    assert done.returncode == 4, done.stdout + done.stderr
    assert took < EXIT_4_WITHIN_SECONDS, f"took {took:.1f}s"
    run_id = done.stdout.splitlines()[0].removeprefix("Started run ")
    assert "needs approval to call kubernetes.scale_deployment" in done.stdout
    assert f'"name": "{platform.deployment}"' in done.stdout
    assert "step call waits to call kubernetes.scale_deployment with {" in done.stderr
    assert f"approve: python -m apps.cli --url {platform.url} approve {run_id}" in done.stderr
    assert f"approve {run_id} --reject" in done.stderr
    assert platform.api("GET", f"/runs/{run_id}").json()["status"] == "awaiting_approval"
    assert platform.kube.scale_patches_applied == patches, "nothing was approved"
    platform.api("POST", f"/runs/{run_id}/cancel")


def test_cli_run_wait_keeps_watching_until_approved_through_the_api(platform: Platform, tmp_path: Path) -> None:
    path = scale_file(platform, tmp_path, "cli_wait")
    watching = subprocess.Popen(
        cli_command(platform, "run", "-w", path, "--wait"),
        cwd=ROOT,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run = waiting_run(platform, "cli_wait")
        time.sleep(0.5)  # the CLI has had the approval request by now; without --wait it would have exited 4
        assert watching.poll() is None, "still watching"
        [approval] = platform.api("GET", f"/runs/{run['id']}").json()["approvals"]
        body = {"decision": "approve", "arguments": approval["arguments"]}
        assert platform.api("POST", f"/runs/{run['id']}/approvals", body).status_code == 200
        stdout, stderr = watching.communicate(timeout=30)
    finally:
        if watching.poll() is None:
            watching.kill()
            watching.wait(timeout=5)
    assert watching.returncode == 0, stdout + stderr
    assert "kubernetes.scale_deployment approved by local" in stdout
    assert stdout.splitlines()[-1].startswith("✓ succeeded")


def test_cli_run_yes_approves_its_own_call_and_records_who(platform: Platform, tmp_path: Path) -> None:
    patches = platform.kube.scale_patches_applied
    replicas = platform.replicas + 2  # a change (the dashboard's test scales to + 1), so the cluster is patched
    done = cli(platform, "run", "-w", scale_file(platform, tmp_path, "cli_yes", replicas), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = done.stdout.splitlines()[0].removeprefix("Started run ")
    assert "approving it with these arguments (--yes)" in done.stdout
    assert f'"replicas": {replicas}' in done.stdout
    assert "kubernetes.scale_deployment approved by local" in done.stdout
    run = platform.api("GET", f"/runs/{run_id}").json()
    assert run["status"] == "succeeded"
    assert [(a["status"], a["decided_by"]) for a in run["approvals"]] == [("approved", "local")]
    assert platform.kube.scale_patches_applied == patches + 1


def test_cli_run_no_wait_prints_the_id_and_the_run_goes_on(platform: Platform, tmp_path: Path) -> None:
    done = cli(platform, "run", "-w", scale_file(platform, tmp_path, "cli_no_wait"), "--no-wait")
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = done.stdout.strip()
    assert f"show {run_id} --follow" in done.stderr
    assert waiting_run(platform, "cli_no_wait")["id"] == run_id, "the run goes on without anyone watching"
    platform.api("POST", f"/runs/{run_id}/cancel")
