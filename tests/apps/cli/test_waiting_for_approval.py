"""``run`` at a step that needs approval: exit 4 without a terminal, ``--wait``, ``--yes``, ``--no-wait``.

The CLI runs as its own process with stdin a pipe (not a terminal), as in a script or CI job; the agent
core is a real HTTP server (``core`` and ``keyed``, one per module).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from apps.agent_core.auth import new_key
from apps.cli import exit_codes
from tests.apps.cli.conftest import run_cli, write
from tests.support.agent_core import CoreClient, Keys, make_keys, run_agent_core
from tests.support.lab_server import LabState
from tests.support.processes import ROOT

EXIT_4_WITHIN_SECONDS = 10.0
"""Far under the approval's 15 minutes: exit 4 comes when the run waits, not when the approval lapses."""
SCALE_ARGUMENTS = {"target": "db", "replicas": 5}
SCALE = {"name": "scale_db", "steps": [{"id": "scale", "tool": "lab.scale", "arguments": SCALE_ARGUMENTS}]}
TWO_CHANGES = {
    "name": "two_changes",
    "steps": [
        {"id": "web", "tool": "lab.scale", "arguments": {"target": "web", "replicas": 2}},
        {"id": "api", "tool": "lab.scale", "arguments": {"target": "api", "replicas": 4}},
    ],
}


def test_without_a_terminal_run_exits_4_as_soon_as_the_run_waits(
    core: CoreClient, lab: tuple[str, LabState], tmp_path: Path
) -> None:
    path = write(tmp_path / "scale.json", json.dumps(SCALE))
    calls = lab[1].calls["scale"]
    began = time.monotonic()
    result = run_cli("run", "-w", path, url=core.url, timeout=EXIT_4_WITHIN_SECONDS + 5)
    took = time.monotonic() - began
    assert result.returncode == exit_codes.AWAITING_APPROVAL, result.stdout + result.stderr
    assert took < EXIT_4_WITHIN_SECONDS, f"took {took:.1f}s"
    run_id = result.stdout.splitlines()[0].removeprefix("Started run ")

    # What waits, and the exact commands to decide it.
    assert "step scale needs approval to call lab.scale with:" in result.stdout
    assert '"replicas": 5' in result.stdout
    said = f"Run {run_id} is waiting for approval. Not waiting for a decision: stdin is not a terminal."
    assert said in result.stderr
    assert 'step scale waits to call lab.scale with {"target": "db", "replicas": 5}' in result.stderr
    assert f"  approve: python -m apps.cli approve {run_id}\n" in result.stderr
    assert f'  reject:  python -m apps.cli approve {run_id} --reject --reason "why"' in result.stderr
    assert "--wait keeps watching" in result.stderr and "Traceback" not in result.stderr
    assert core.run(run_id)["status"] == "awaiting_approval", "the run goes on waiting on the server"
    assert lab[1].calls["scale"] == calls, "nothing was approved"

    # --json: stdout is the run view as it stands, the hints go to stderr.
    as_json = run_cli("run", "-w", path, "--json", url=core.url, timeout=EXIT_4_WITHIN_SECONDS + 5)
    assert as_json.returncode == exit_codes.AWAITING_APPROVAL, as_json.stderr
    view = json.loads(as_json.stdout)
    assert view["status"] == "awaiting_approval" and view["approvals"][0]["status"] == "pending"
    assert f"approve: python -m apps.cli approve {view['id']}" in as_json.stderr

    for waiting in (run_id, view["id"]):
        core.http.post(f"/api/runs/{waiting}/cancel")


@dataclass(frozen=True)
class KeyedCore:
    core: CoreClient
    ops: str
    """Runs and approves (operator + approver), as a deploy pipeline's key would."""
    operator: str
    """Runs, but may not approve."""


@pytest.fixture(scope="module")
def keyed(lab: tuple[str, LabState], tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedCore]:
    keys: Keys = make_keys()
    ops, ops_entry = new_key("ops-bot", ["operator", "approver"])
    entries = [*json.loads(keys.entries_json), ops_entry.model_dump()]
    state = tmp_path_factory.mktemp("keyed")
    with run_agent_core({"lab": lab[0]}, state, api_keys=json.dumps(entries)) as core:
        yield KeyedCore(core, ops, keys.operator)


def test_yes_approves_each_of_this_runs_approvals_as_the_keys_principal(
    keyed: KeyedCore, lab: tuple[str, LabState], tmp_path: Path
) -> None:
    core = keyed.core
    other = core.start({"workflow": SCALE}, key=keyed.ops)  # another run's approval: --yes must leave it alone
    core.wait_for(other, {"awaiting_approval"}, key=keyed.ops)
    calls = lab[1].calls["scale"]

    path = write(tmp_path / "two.json", json.dumps(TWO_CHANGES))
    result = run_cli("run", "-w", path, "--yes", url=core.url, AGENTIC_API_KEY=keyed.ops)
    assert result.returncode == exit_codes.OK, result.stdout + result.stderr
    run_id = result.stdout.splitlines()[0].removeprefix("Started run ")
    # Each approval printed with its tool and exact arguments, then who approved it.
    out = result.stdout
    assert out.count("approving it with these arguments (--yes)") == 2
    assert out.index("step web needs approval to call lab.scale") < out.index('"target": "web"')
    assert out.count("✓ lab.scale approved by ops-bot") == 2
    assert "approve: " not in out, "no hint to do by hand what --yes does"
    assert out.splitlines()[-1].startswith("✓ succeeded")

    run = core.run(run_id, key=keyed.ops)
    assert [(a["step_id"], a["status"], a["decided_by"]) for a in run["approvals"]] == [
        ("web", "approved", "ops-bot"),
        ("api", "approved", "ops-bot"),
    ]
    assert lab[1].calls["scale"] == calls + 2
    assert core.run(other, key=keyed.ops)["status"] == "awaiting_approval", "only this run's approvals"
    core.http.post(f"/api/runs/{other}/cancel", headers={"Authorization": f"Bearer {keyed.ops}"})


def test_yes_with_a_key_that_may_not_approve_exits_5_and_the_run_waits(keyed: KeyedCore, tmp_path: Path) -> None:
    path = write(tmp_path / "scale.json", json.dumps(SCALE))
    result = run_cli("run", "-w", path, "--yes", url=keyed.core.url, AGENTIC_API_KEY=keyed.operator)
    assert result.returncode == exit_codes.UNAVAILABLE, result.stdout + result.stderr
    run_id = result.stdout.splitlines()[0].removeprefix("Started run ")
    assert "not allowed (403)" in result.stderr
    assert f"approve it with a key that may: python -m apps.cli approve {run_id}" in result.stderr
    assert "Traceback" not in result.stderr
    auth = {"Authorization": f"Bearer {keyed.ops}"}
    assert keyed.core.run(run_id, key=keyed.ops)["status"] == "awaiting_approval"
    keyed.core.http.post(f"/api/runs/{run_id}/cancel", headers=auth)


def test_no_wait_prints_the_id_at_once_and_the_run_goes_on(core: CoreClient, tmp_path: Path) -> None:
    path = write(tmp_path / "scale.json", json.dumps(SCALE))
    result = run_cli("run", "-w", path, "--no-wait", url=core.url)
    assert result.returncode == exit_codes.OK, result.stderr
    run_id = result.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]+", run_id), "the id alone on stdout, for scripts"
    assert f"follow it with: python -m apps.cli show {run_id} --follow" in result.stderr
    assert core.run(run_id)["status"] in ("queued", "running", "awaiting_approval")
    core.http.post(f"/api/runs/{run_id}/cancel")

    both = run_cli("run", "-w", path, "--no-wait", "--yes", url=core.url)
    assert both.returncode == exit_codes.USAGE and "--no-wait does not watch it" in both.stderr
    clash = run_cli("run", "-w", path, "--no-wait", "--wait", url=core.url)
    assert clash.returncode == exit_codes.USAGE and "not allowed with argument" in clash.stderr


def documented_codes(text: str) -> dict[int, str]:
    """``| code | meaning |`` rows of a Markdown table."""
    return {int(m[1]): m[2].strip() for m in re.finditer(r"^\| (\d+) \| (.+?) \|$", text, re.MULTILINE)}


def test_the_readme_and_help_list_exactly_the_exit_codes_the_cli_uses() -> None:
    used = {value for name, value in vars(exit_codes).items() if name.isupper() and isinstance(value, int)}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = documented_codes(readme)
    assert set(table) == used, "README's exit code table"
    assert "--wait" in table[exit_codes.AWAITING_APPROVAL]
    epilog = {int(m[1]) for m in re.finditer(r"^  (\d+) ", exit_codes.EPILOG, re.MULTILINE)}
    assert epilog == used, "--help's exit codes"
    docstring = exit_codes.__doc__ or ""
    assert {int(m[1]) for m in re.finditer(r"^(\d+) ", docstring, re.MULTILINE)} == used
