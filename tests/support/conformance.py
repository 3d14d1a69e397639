"""The official MCP conformance suite (``@modelcontextprotocol/conformance``, pinned in tools/mcp-conformance):
its client scenarios run against a client program of ours, and the checks it wrote read back.

In client mode the suite starts a test server for one scenario, runs the given command with the server's URL
appended and the scenario's name in ``MCP_CONFORMANCE_SCENARIO``, then judges what its server saw and writes
``checks.json`` under ``--output-dir``. Its servers ask for a bare port, which binds every interface: the loopback
preload (``node_loopback.cjs``) keeps them on 127.0.0.1.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT / "tools" / "mcp-conformance" / "node_modules" / ".bin" / "conformance"
NODE_LOOPBACK = ROOT / "tests" / "support" / "node_loopback.cjs"
INSTALL_HINT = "run `make test` (it installs the conformance suite with npm ci)"
_GRACE_SECONDS = 30.0
"""How long the suite itself may take beyond the client's time limit (starting node, its server, judging)."""


class Check(BaseModel):
    """One entry of the suite's ``checks.json``."""

    id: str
    name: str
    description: str
    status: Literal["SUCCESS", "FAILURE", "WARNING", "INFO"]
    """SUCCESS and FAILURE are verdicts, WARNING a doubtful pass (the suite's run fails on it), INFO a record of
    the traffic its server saw."""
    error_message: str | None = Field(default=None, alias="errorMessage")
    details: dict[str, Any] | None = None

    def describe(self) -> str:
        return f"{self.status} {self.name}: {self.error_message or self.description}"


_CHECKS = TypeAdapter(list[Check])


@dataclass(frozen=True)
class ScenarioRun:
    scenario: str
    returncode: int
    output: str
    """What the suite printed (the client's own stdout and stderr are in it when the client failed)."""
    checks: list[Check]

    @property
    def verdicts(self) -> list[Check]:
        return [check for check in self.checks if check.status in ("SUCCESS", "FAILURE", "WARNING")]

    @property
    def failed(self) -> list[Check]:
        """Failures and warnings: the suite fails a scenario on either."""
        return [check for check in self.verdicts if check.status != "SUCCESS"]


def run_client_scenario(command: list[str], scenario: str, output_dir: Path, *, client_seconds: float) -> ScenarioRun:
    """Run one client scenario with ``command`` as the client, at most ``client_seconds`` for the client; the
    results are written under ``output_dir``."""
    completed = subprocess.run(
        [
            str(CONFORMANCE),
            "client",
            "--command",
            _command_line(command),
            "--scenario",
            scenario,
            "--timeout",
            str(round(client_seconds * 1000)),
            "--output-dir",
            str(output_dir),
        ],
        cwd=ROOT,
        env={**os.environ, "NODE_OPTIONS": f"--require {NODE_LOOPBACK}"},
        capture_output=True,
        text=True,
        timeout=client_seconds + _GRACE_SECONDS,
        check=False,
    )
    output = completed.stdout + completed.stderr
    written = sorted(output_dir.rglob("checks.json"))
    if len(written) != 1:
        raise AssertionError(f"expected one checks.json under {output_dir}, found {len(written)}:\n{output}")
    return ScenarioRun(scenario, completed.returncode, output, _CHECKS.validate_json(written[0].read_bytes()))


def client_scenarios() -> list[str]:
    """Every client scenario the pinned suite has (``conformance list``)."""
    listed = subprocess.run(
        [str(CONFORMANCE), "list"], cwd=ROOT, capture_output=True, text=True, timeout=_GRACE_SECONDS, check=True
    ).stdout
    _, _, client_part = listed.partition("Client scenarios")
    return [line.strip()[2:] for line in client_part.splitlines() if line.strip().startswith("- ")]


def _command_line(command: list[str]) -> str:
    # The suite splits --command on single spaces and runs it through a shell: no argument may contain a space.
    spaced = [argument for argument in command if " " in argument]
    if spaced:
        raise ValueError(f"the conformance suite cannot pass arguments containing spaces: {spaced}")
    return shlex.join(command)
