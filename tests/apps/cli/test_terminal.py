"""On a terminal (a pseudo-terminal here): a live status line redrawn in place, a line per finished step."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from apps.cli.narration import RunNarrator
from apps.cli.text import Style
from tests.apps.cli.conftest import cli_env, write
from tests.support.agent_core import CoreClient
from tests.support.processes import ROOT

SCALE = {
    "name": "scale_on_a_terminal",
    "steps": [{"id": "scale", "tool": "lab.scale", "arguments": {"target": "api", "replicas": 2}}],
}
WORKFLOW = {
    "name": "on_a_terminal",
    "steps": [
        {"id": "first", "tool": "lab.echo", "arguments": {"text": "tty"}},
        {"id": "slow", "tool": "lab.slow_echo", "arguments": {"text": "wait", "seconds": 0.4}},
    ],
}


def run_on_a_terminal(
    args: list[str], env: dict[str, str], *, answer: str | None = None, timeout: float = 20.0
) -> tuple[int, str]:
    """Run the CLI with stdout (and stdin, if ``answer`` is given for its prompt) on a pseudo-terminal.

    Returns the exit code and everything written to the terminal.
    """
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "apps.cli", *args],
        cwd=ROOT,
        env=env,
        stdin=terminal if answer is not None else subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal if answer is not None else subprocess.PIPE,
    )
    os.close(terminal)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not chunk:
                break
            output += chunk
            if answer is not None and b"[y/N]" in output:
                os.write(controller, answer.encode() + b"\n")
                answer = None
        code = process.wait(timeout=5)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return code, output.decode("utf-8", errors="replace")


def test_a_terminal_gets_a_live_status_line_and_finished_steps(core: CoreClient, tmp_path: Path) -> None:
    path = write(tmp_path / "workflow.json", json.dumps(WORKFLOW))
    code, screen = run_on_a_terminal(["run", "-w", path], cli_env(core.url))
    assert code == 0, screen
    assert "\r\x1b[2K" in screen, "the status line is cleared and redrawn in place"
    assert "running slow: lab.slow_echo" in screen
    assert any(frame in screen for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"), "the spinner turns while the slow step runs"
    assert "first  lab.echo" in screen and "slow  lab.slow_echo" in screen
    assert "\x1b[32m✓\x1b[0m slow  lab.slow_echo" in screen, "finished steps are marked, in colour"
    assert "started  {" not in screen, "started steps live in the status line, not in lines of their own"
    last = re.sub(r"\x1b\[[0-9;]*m", "", screen.rstrip().splitlines()[-1])
    assert last.startswith("✓ succeeded in "), "the outcome comes last"

    plain = run_on_a_terminal(["run", "-w", path, "--no-color"], cli_env(core.url))[1]
    assert "\x1b[32m" not in plain and "✓ slow  lab.slow_echo" in plain


def test_approve_asks_on_a_terminal_and_does_only_what_was_confirmed(core: CoreClient) -> None:
    run_id = core.start({"workflow": SCALE})
    core.wait_for(run_id, {"awaiting_approval"})

    code, screen = run_on_a_terminal(["approve", run_id], cli_env(core.url), answer="n")
    assert code == 4, screen
    assert "Approve lab.scale with these arguments? [y/N]" in screen and "still waiting" in screen
    assert core.run(run_id)["status"] == "awaiting_approval"

    code, screen = run_on_a_terminal(["approve", run_id], cli_env(core.url), answer="y")
    assert code == 0, screen
    assert "Approved lab.scale" in screen
    assert core.wait_for(run_id, {"succeeded", "failed"})["status"] == "succeeded"


def approve_when_waiting(core: CoreClient, title: str, timeout: float = 15.0) -> threading.Thread:
    """In the background, approve the run called ``title`` once it waits: a person elsewhere, via the API."""

    def approve() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = core.http.get("/api/runs", params={"status": "awaiting_approval"}).json()["runs"]
            for run in waiting:
                if run["title"] == title:
                    [approval] = core.run(run["id"])["approvals"]
                    body = {"decision": "approve", "arguments_hash": approval["arguments_hash"]}
                    core.http.post(f"/api/runs/{run['id']}/approvals", json=body)
                    return
            time.sleep(0.1)

    thread = threading.Thread(target=approve, daemon=True)
    thread.start()
    return thread


def test_run_on_a_terminal_keeps_waiting_while_someone_approves(core: CoreClient, tmp_path: Path) -> None:
    workflow = {**SCALE, "name": "watched_on_a_terminal"}
    path = write(tmp_path / "scale.json", json.dumps(workflow))
    approver = approve_when_waiting(core, "watched_on_a_terminal")
    # stdin on the terminal too (answer=""): a person is there, so run does not exit 4 at the approval.
    code, screen = run_on_a_terminal(["run", "-w", path], cli_env(core.url), answer="")
    approver.join(timeout=1)
    assert code == 0, screen
    assert "needs approval to call lab.scale" in screen and "approve: python -m apps.cli approve" in screen
    assert "lab.scale approved by local" in screen and "Not waiting for a decision" not in screen


def test_approval_requests_say_what_and_how_in_ascii_too() -> None:
    narrator = RunNarrator("r1", Style(color=False, unicode=False), "python -m apps.cli")
    lines = narrator.apply(
        {
            "seq": 3,
            "type": "approval_requested",
            "at": 1000.0,
            "data": {
                "id": "ap1",
                "step_id": "scale",
                "server": "lab",
                "tool": "scale",
                "arguments": {"target": "web", "replicas": 3},
                "expires_at": time.time() + 600,
            },
        }
    )
    text = "\n".join(line.text for line in lines)
    assert text.startswith("|| step scale needs approval to call lab.scale with:")
    assert '"replicas": 3' in text and '"target": "web"' in text
    assert "approve: python -m apps.cli approve r1" in text
    assert all(line.notice for line in lines), "shown even when stdout is JSON"
    assert narrator.awaiting_approval and narrator.status().paused
    text.encode("ascii")  # no symbol a non-UTF-8 terminal cannot show

    narrator.apply(
        {
            "seq": 4,
            "type": "approval_decided",
            "at": 1001.0,
            "data": {"approval_id": "ap1", "decision": "approved", "decided_by": "ann"},
        }
    )
    assert not narrator.awaiting_approval and narrator.last_seq == 4
