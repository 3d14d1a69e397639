"""A stdio server killed while a run's step is calling it, through the agent core's real API.

The servers are configured as a user would (``AGENTIC_MCP_SERVERS_FILE``):

- ``stdio_counting_server.py``, whose ``slow_write`` records each call as it starts and then sleeps. Its tool
  has no annotations, so MCP's defaults make it destructive: a call that may have reached it must never be
  sent again, and the step fails;
- ``@modelcontextprotocol/server-everything`` (tools/mcp-everything, ``dist/index.js stdio``), whose
  ``trigger-long-running-operation`` is annotated read-only and idempotent: sent again to the restarted
  process, once, and the step succeeds.

The agent core runs in this process (uvicorn in a thread), so each server is a child of this process: found
in ``/proc`` by its command line and sent SIGKILL from outside, as the kernel's OOM killer or an operator would.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.apps.agent_core.gateway.test_servers_file_runs import servers_file, step, workflow
from tests.support.agent_core import TERMINAL, run_agent_core
from tests.support.third_party_mcp import EVERYTHING_ENTRY, INSTALL_HINT

COUNTING_SERVER = Path(__file__).with_name("stdio_counting_server.py")
TOOL_SECONDS = 60
"""How long the killed call would have run (the step's timeout is as long): the step must end long before."""
FAILED_WITHIN_SECONDS = 15
"""The bound on waiting for a killed call's step to end: past it, the test fails as a hang."""


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.02)


def children_running(marker: str) -> list[int]:
    """The live (not zombie) children of this process whose command line contains ``marker``."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue  # it exited while we looked
        # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after its last ")".
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if int(ppid) == os.getpid() and state != "Z" and marker in cmdline:
            found.append(int(entry.name))
    return found


def labels(call_log: Path) -> list[str]:
    """The label of every ``slow_write`` that reached the tool, in order."""
    return [line.split()[0] for line in call_log.read_text().splitlines()] if call_log.exists() else []


def test_a_stdio_server_killed_mid_step_fails_the_step_clearly_and_the_next_run_restarts_it(tmp_path: Path) -> None:
    call_log = tmp_path / "calls.txt"
    path = servers_file(
        tmp_path,
        {
            "counting": {
                "command": sys.executable,
                "args": [str(COUNTING_SERVER), str(call_log)],
                "approval": "never",  # destructive by MCP's defaults: it would wait for a person
            }
        },
    )
    slow = step("write", "counting.slow_write", arguments={"label": "first", "seconds": TOOL_SECONDS})
    quick = step("write", "counting.slow_write", arguments={"label": "second", "seconds": 0})

    with run_agent_core({}, tmp_path, mcp_servers_file=path) as core:
        first_id = core.start(workflow(slow))
        wait_until(lambda: labels(call_log) == ["first"], "the first call reached the tool")
        (first_pid,) = children_running(str(call_log))
        os.kill(first_pid, signal.SIGKILL)
        first = core.wait_for(first_id, TERMINAL, timeout=FAILED_WITHIN_SECONDS)
        gone = children_running(str(call_log))

        second = core.wait_for(core.start(workflow(quick)), TERMINAL, timeout=30)
        (second_pid,) = children_running(str(call_log))
        health = {server["server"]: server for server in core.http.get("/api/health").json()["servers"]}

    assert first["status"] == "failed", first
    (failed,) = first["steps"]
    assert failed["status"] == "failed" and failed["attempt"] == 1
    assert (
        "stdio server counting exited with status -9 while tools/call was in flight; "
        "the call may or may not have been applied"
    ) in failed["error"], failed["error"]
    assert gone == [], "the killed process was reaped and nothing was left running in its place"

    assert second["status"] == "succeeded", second
    assert second["steps"][0]["result"] == {"result": "wrote second"} and second["steps"][0]["attempt"] == 1
    assert second_pid != first_pid, "a new process, started by the supervisor"
    assert labels(call_log) == ["first", "second"], "each call reached the tool once: the killed one was not resent"
    assert health["counting"]["reachable"] and health["counting"]["transport"] == "stdio"


def test_an_idempotent_third_party_tool_killed_mid_step_is_sent_once_more_to_the_restarted_server(
    tmp_path: Path,
) -> None:
    assert EVERYTHING_ENTRY.exists(), INSTALL_HINT
    path = servers_file(tmp_path, {"everything": {"command": "node", "args": [str(EVERYTHING_ENTRY), "stdio"]}})
    # Four progress reports, half a second apart: the first says the call is running in the server.
    long = step("long", "everything.trigger-long-running-operation", arguments={"duration": 2, "steps": 4})

    with run_agent_core({}, tmp_path, mcp_servers_file=path) as core:
        run_id = core.start(workflow(long))
        wait_until(lambda: any(s["progress"] for s in core.run(run_id)["steps"]), "the tool reported progress")
        (first_pid,) = children_running(str(EVERYTHING_ENTRY))
        os.kill(first_pid, signal.SIGKILL)
        run = core.wait_for(run_id, TERMINAL, timeout=FAILED_WITHIN_SECONDS)
        (second_pid,) = children_running(str(EVERYTHING_ENTRY))

    # Without the resend the step would have failed as the destructive one does; it succeeded on the process
    # started after the kill, and nothing is sent after a success: the call ran once more, there.
    assert run["status"] == "succeeded", run
    (done,) = run["steps"]
    assert done["result"] == "Long running operation completed. Duration: 2 seconds, Steps: 4."
    assert done["attempt"] == 1, "the gateway resent the call inside the step's one attempt"
    assert second_pid != first_pid
