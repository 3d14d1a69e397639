"""The official MCP conformance suite's client scenarios (pinned in tools/mcp-conformance) against the gateway's
MCP client, driven by ``conformance_client.py``; its server scenarios against our servers are in
tests/apps/test_mcp_conformance.py.

A scenario is run here, or excluded below with the reason; ``test_every_client_scenario_is_run_or_excluded``
fails when the pinned suite gains a scenario that is neither.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.apps.agent_core.gateway.conformance_client import SCENARIOS
from tests.support.conformance import CONFORMANCE, INSTALL_HINT, Check, client_scenarios, run_client_scenario

CLIENT = [sys.executable, "-m", "tests.apps.agent_core.gateway.conformance_client"]
CLIENT_SECONDS = 20.0
"""The suite stops the client after this; each scenario's client is done in 1 to 2 s."""

NOT_APPLICABLE = {
    "elicitation-sep1034-client-defaults": (
        "the gateway's client declares no elicitation capability (a workflow step has no user to ask), and the "
        "scenario's tool needs a client that answers elicitation/create"
    ),
    "auth/": (
        "OAuth authorization flows (metadata discovery, client registration, token requests): the gateway's "
        "client sends each server the static headers (a bearer token) from its configuration, and does no OAuth"
    ),
}
"""Scenario names (or, ending in "/", a family of them) the gateway's client is not meant to pass, and why."""

TOOL_CALLS = {"initialize": 0, "tools_call": 1, "sse-retry": 1}
"""How many tools/call requests each scenario's server must see: sse-retry's closes the stream of a call it has
already received, and the answer must come from resuming that stream, not from sending the call again."""


def _named(name: str, scenario: str) -> bool:
    return scenario == name or (name.endswith("/") and scenario.startswith(name))


def _excluded(scenario: str) -> str | None:
    return next((reason for name, reason in NOT_APPLICABLE.items() if _named(name, scenario)), None)


def _tool_calls_received(checks: list[Check]) -> int:
    # The servers record each request they got as an INFO check; the express ones name the JSON-RPC method
    # "mcpMethod", the hand-written ones "jsonrpcMethod".
    return sum(
        1
        for check in checks
        if check.id == "incoming-request"
        and check.details is not None
        and "tools/call" in (check.details.get("mcpMethod"), check.details.get("jsonrpcMethod"))
    )


@pytest.mark.parametrize(
    "scenario",
    [
        *SCENARIOS,
        *(
            pytest.param(name, marks=pytest.mark.skip(reason=f"not applicable: {why}"))
            for name, why in NOT_APPLICABLE.items()
        ),
    ],
)
def test_client_scenario(scenario: str, tmp_path: Path) -> None:
    assert CONFORMANCE.exists(), INSTALL_HINT
    run = run_client_scenario(CLIENT, scenario, tmp_path, client_seconds=CLIENT_SECONDS)
    failed = "\n".join(check.describe() for check in run.failed)
    assert not run.failed, (
        f"{scenario}: {len(run.failed)} of {len(run.verdicts)} checks failed:\n{failed}\n\n{run.output}"
    )
    assert run.verdicts, f"{scenario}: the suite judged nothing:\n{run.output}"
    assert run.returncode == 0, f"{scenario}: the suite failed the run (did the client fail?):\n{run.output}"
    calls = _tool_calls_received(run.checks)
    assert calls == TOOL_CALLS[scenario], f"{scenario}: its server got {calls} tools/call, not {TOOL_CALLS[scenario]}"


def test_every_client_scenario_is_run_or_excluded() -> None:
    assert CONFORMANCE.exists(), INSTALL_HINT
    listed = client_scenarios()
    assert listed, "conformance list named no client scenarios"
    neither = [name for name in listed if name not in SCENARIOS and _excluded(name) is None]
    assert not neither, f"the pinned suite's client scenarios {neither} are neither run here nor excluded with a reason"
    unknown = [name for name in [*SCENARIOS, *NOT_APPLICABLE] if not any(_named(name, each) for each in listed)]
    assert not unknown, f"{unknown} are not scenarios of the pinned suite (any more)"
