"""``approve`` and ``cancel``, and what a watching ``run`` does meanwhile: waits, then reports the outcome."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

from tests.apps.cli.conftest import Background, run_cli, write
from tests.support.agent_core import CoreClient
from tests.support.lab_server import LabState

SCALE_ARGUMENTS = {"target": "web", "replicas": 3}
SCALE = {"name": "scale_web", "steps": [{"id": "scale", "tool": "lab.scale", "arguments": SCALE_ARGUMENTS}]}
SLOW = {
    "name": "slow",
    "steps": [
        {"id": "quick", "tool": "lab.echo", "arguments": {"text": "first"}},
        {"id": "slow", "tool": "lab.slow_echo", "arguments": {"text": "zzz", "seconds": 2}},
    ],
}


def started_id(watched: Background) -> str:
    return watched.wait_for_line("Started run ").strip().removeprefix("Started run ")


def test_approve_yes_lets_a_waiting_run_finish(core: CoreClient, lab: tuple[str, LabState], tmp_path: Path) -> None:
    path = write(tmp_path / "scale.json", json.dumps(SCALE))
    started = run_cli("run", "-w", path, "--no-wait", url=core.url)
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip()
    core.wait_for(run_id, {"awaiting_approval"})
    calls = lab[1].calls["scale"]

    # Without --yes and without a terminal to ask on, nothing is decided.
    refused = run_cli("approve", run_id, url=core.url)
    assert refused.returncode == 2
    assert "stdin is not a terminal" in refused.stderr and "--yes" in refused.stderr
    assert '"replicas": 3' in refused.stdout and "lab.scale" in refused.stdout, "shows what it would approve"
    assert core.run(run_id)["status"] == "awaiting_approval"

    approved = run_cli("approve", run_id, "--yes", "--reason", "planned", url=core.url)
    assert approved.returncode == 0, approved.stderr
    assert "Approved lab.scale" in approved.stdout
    run = core.wait_for(run_id, {"succeeded", "failed"})
    assert run["status"] == "succeeded"
    assert run["approvals"][0]["status"] == "approved" and run["approvals"][0]["reason"] == "planned"
    assert lab[1].calls["scale"] == calls + 1

    again = run_cli("approve", run_id, "--yes", url=core.url)
    assert again.returncode == 2 and "no pending approval" in again.stderr


def test_run_wait_keeps_watching_without_a_terminal_until_approved_elsewhere(
    core: CoreClient, tmp_path: Path, background: Callable[..., Background]
) -> None:
    # stdin is /dev/null: without --wait this run would exit 4 at the approval (test_waiting_for_approval.py).
    watched = background("run", "-w", write(tmp_path / "scale.json", json.dumps(SCALE)), "--wait")
    run_id = started_id(watched)
    watched.wait_for_line("needs approval to call lab.scale")
    watched.wait_for_line('"replicas": 3')
    hint = watched.wait_for_line("approve: ")
    assert hint.strip() == f"approve: python -m apps.cli approve {run_id}"
    assert watched.process.poll() is None, "still watching"

    # Someone else approves, through the API as the dashboard does.
    decided = core.http.post(
        f"/api/runs/{run_id}/approvals", json={"decision": "approve", "arguments": SCALE_ARGUMENTS}
    )
    assert decided.status_code == 200, decided.text
    code, stdout, stderr = watched.finish()
    assert code == 0, stdout + stderr
    assert "✓ lab.scale approved by local" in stdout
    assert "✓ scale  lab.scale" in stdout and stdout.splitlines()[-1].startswith("✓ succeeded")


def test_ctrl_c_while_waiting_for_approval_exits_4_and_the_run_goes_on(
    core: CoreClient, tmp_path: Path, background: Callable[..., Background]
) -> None:
    watched = background("run", "-w", write(tmp_path / "scale.json", json.dumps(SCALE)), "--wait")
    run_id = started_id(watched)
    watched.wait_for_line("approve: ")
    watched.process.send_signal(signal.SIGINT)
    code, _, stderr = watched.finish()
    assert code == 4
    assert f"Run {run_id} continues on the server and is waiting for approval" in stderr
    assert f"python -m apps.cli show {run_id} --follow" in stderr
    assert "Traceback" not in stderr
    assert core.run(run_id)["status"] == "awaiting_approval"

    rejected = run_cli("approve", run_id, "--reject", "--reason", "not today", "--yes", url=core.url)
    assert rejected.returncode == 0 and "Rejected lab.scale" in rejected.stdout
    followed = run_cli("show", run_id, "--follow", url=core.url)
    assert followed.returncode == 1
    assert "✗ lab.scale rejected by local: not today" in followed.stdout
    assert "✗ scale  lab.scale  rejected" in followed.stdout


def test_a_task_whose_change_was_rejected_fails_and_exits_1(core: CoreClient, lab: tuple[str, LabState]) -> None:
    started = run_cli("run", 'scale target "web" to 4 replicas', "--no-wait", url=core.url)
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip()
    core.wait_for(run_id, {"awaiting_approval"})
    calls = lab[1].calls["scale"]

    assert run_cli("approve", run_id, "--reject", "--reason", "freeze", "--yes", url=core.url).returncode == 0
    followed = run_cli("show", run_id, "--follow", url=core.url)
    assert followed.returncode == 1, followed.stdout + followed.stderr
    assert "Error: 1 of 1 tool call failed: lab.scale (was rejected; it did not run)." in followed.stdout
    assert followed.stdout.splitlines()[-1].startswith("✗ failed")
    assert lab[1].calls["scale"] == calls, "a rejected call never runs"


def test_cancel_stops_a_run_and_the_watcher_exits_3(
    core: CoreClient, tmp_path: Path, background: Callable[..., Background]
) -> None:
    watched = background("run", "-w", write(tmp_path / "slow.json", json.dumps(SLOW)))
    run_id = started_id(watched)
    watched.wait_for_line("→ slow  lab.slow_echo  started")

    cancelled = run_cli("cancel", run_id, url=core.url)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"Run {run_id} is cancelled." in cancelled.stdout
    code, stdout, _ = watched.finish()
    assert code == 3
    assert "cancellation requested by local" in stdout
    assert stdout.splitlines()[-1].startswith("✗ cancelled")
    assert core.run(run_id)["status"] == "cancelled"

    finished = run_cli("cancel", run_id, url=core.url)
    assert finished.returncode == 2 and "already finished (cancelled)" in finished.stderr


def test_ctrl_c_while_running_exits_130_and_says_how_to_follow(
    core: CoreClient, tmp_path: Path, background: Callable[..., Background]
) -> None:
    watched = background("run", "-w", write(tmp_path / "slow.json", json.dumps(SLOW)))
    run_id = started_id(watched)
    watched.wait_for_line("→ slow  lab.slow_echo  started")
    watched.process.send_signal(signal.SIGINT)
    code, _, stderr = watched.finish()
    assert code == 130
    assert f"Stopped watching. Run {run_id} continues on the server." in stderr
    assert f"show {run_id} --follow" in stderr and "Traceback" not in stderr
    assert core.run(run_id)["status"] == "running"
    core.http.post(f"/api/runs/{run_id}/cancel")
