"""The checks that start runs: one read-only tool call per MCP server, and one answer from the reasoner.

Each is a real run through the API (``POST /api/runs``), so it goes the way a person's run goes: the agent
core, its store, the server's tool. They are started together and watched until they settle or
``run_timeout`` passes. A run that stops to wait for an approval, or outlives the timeout, is cancelled:
``verify`` leaves nothing behind for a person to approve.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from apps.cli.client import Platform, run_path
from apps.cli.errors import CliError
from apps.cli.text import duration, shorten
from apps.cli.verify.api_views import TERMINAL_STATUSES, HealthView, RunAccepted, RunState, ToolView
from apps.cli.verify.platform_checks import DETAIL_CHARS, server_remedy
from apps.cli.verify.probes import access_problem, choose_probe
from apps.cli.verify.results import CheckResult, failed, passed, skipped, warned

POLL_SECONDS = 0.25
# The MCP SDK's client puts this before a tool's own error text; the server's words are what matter.
SDK_ERROR_PREFIX = re.compile(r"^Error executing tool [\w.-]+: ")
REASONER_TASK = "Say hello in one short sentence. This is a check after a deployment: answer without using any tools."
REASONER_REMEDY = (
    "check the reasoner's configuration on the agent core: for Bedrock the model id (bedrockModelId, "
    "AGENTIC_BEDROCK_MODEL_ID), that the model is enabled in the account and region, and agent-core's Pod Identity "
    "role; for an OpenAI-compatible model AGENTIC_OPENAI_BASE_URL and AGENTIC_OPENAI_MODEL"
)


@dataclass
class Probe:
    """One run ``verify`` started (or could not start) and how to judge it."""

    check: str
    server: str | None
    label: str
    run_id: str | None = None
    state: RunState | None = None
    error: str | None = None
    cancelled: bool = False


def _start(platform: Platform, probe: Probe, body: dict[str, Any]) -> None:
    try:
        probe.run_id = RunAccepted.model_validate(platform.post("/api/runs", body)).id
    except CliError as exc:
        probe.error = "; ".join([exc.message, *exc.problems])
    except ValidationError:
        probe.error = "POST /api/runs answered, but not with a run id"


def _watch(platform: Platform, probes: list[Probe], run_timeout: float, clock: Callable[[], float]) -> None:
    """Poll every started run until it settles or the time is up; cancel what is left waiting."""
    deadline = clock() + run_timeout
    pending = [probe for probe in probes if probe.run_id and not probe.error]
    while pending:
        for probe in list(pending):
            assert probe.run_id is not None
            try:
                probe.state = RunState.model_validate(platform.get(run_path(probe.run_id)))
            except (CliError, ValidationError) as exc:
                probe.error = exc.message if isinstance(exc, CliError) else "the run's view is not as the API gives it"
                pending.remove(probe)
                continue
            if probe.state.settled:
                pending.remove(probe)
        if not pending or clock() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    for probe in probes:
        if probe.run_id and (probe.state is None or probe.state.status not in TERMINAL_STATUSES):
            _cancel(platform, probe)


def _cancel(platform: Platform, probe: Probe) -> None:
    assert probe.run_id is not None
    try:
        platform.post(run_path(probe.run_id, "/cancel"))
        probe.cancelled = True
    except CliError:
        pass  # reported through the run's status: it did not finish


def workflow_name(server: str) -> str:
    """``verify_<server>``, in the alphabet workflow names allow (a-z, 0-9, _; 64 at most)."""
    return ("verify_" + re.sub(r"[^a-z0-9_]", "_", server.lower()))[:64]


def _short(text: str) -> str:
    return shorten(text, DETAIL_CHARS)


def _unsettled(probe: Probe, run_timeout: float) -> str:
    assert probe.state is not None
    what = (
        "stopped to wait for an approval"
        if probe.state.status == "awaiting_approval"
        else f"did not finish within {run_timeout:g} s (still {probe.state.status})"
    )
    cancelled = "; verify cancelled it" if probe.cancelled else "; cancelling it failed, cancel it from the dashboard"
    return f"{probe.label}: run {probe.state.id} {what}{cancelled}"


def judge_tool_call(probe: Probe, run_timeout: float) -> CheckResult:
    server = probe.server or "?"
    remedy = server_remedy(server)
    if probe.error is not None or probe.state is None:
        return failed(probe.check, _short(f"{probe.label}: {probe.error}"), remedy, server=server)
    state = probe.state
    if state.status == "succeeded":
        return passed(probe.check, f"{probe.label} answered in {duration(state.duration_ms)}", server=server)
    if state.status not in TERMINAL_STATUSES:
        remedy = "a read-only probe should never wait: is it listed in AGENTIC_REQUIRE_APPROVAL? Is the server slow?"
        return failed(probe.check, _short(_unsettled(probe, run_timeout)), remedy, server=server)
    error = next((step.error for step in state.steps if step.error), None) or state.error or state.status
    error = SDK_ERROR_PREFIX.sub("", error)
    problem = access_problem(error)
    if problem is not None:
        return warned(probe.check, _short(f"{probe.label}: {error}"), problem.remedy, server=server)
    return failed(probe.check, _short(f"{probe.label} failed: {error}"), remedy, server=server)


def judge_reasoner(probe: Probe, health: HealthView, expected: str | None, run_timeout: float) -> CheckResult:
    if probe.error is not None or probe.state is None:
        return failed(probe.check, _short(f"a one-turn task could not run: {probe.error}"), REASONER_REMEDY)
    state = probe.state
    if state.status not in TERMINAL_STATUSES:
        return failed(probe.check, _short(_unsettled(probe, run_timeout)), REASONER_REMEDY)
    name = state.reasoner or health.reasoner.name
    label = f"{name} ({state.model})" if state.model else name
    if expected is not None and name != expected:
        detail = f"the agent core answers with the {label} reasoner, not {expected}"
        return failed(probe.check, detail, REASONER_REMEDY)
    # The offline planner answers only through tools, so a task that needs none ends failed ("could not plan
    # this task", perhaps after reading the database's schema); its turns and answer show that it works.
    unplannable = (
        name == "offline" and state.status == "failed" and all(step.status == "succeeded" for step in state.steps)
    )
    if not (state.status == "succeeded" or unplannable) or not state.turns or not (state.final_answer or "").strip():
        error = state.error or f"the run ended {state.status} with {len(state.turns)} turns and no answer"
        return failed(probe.check, _short(f"{label}: {error}"), REASONER_REMEDY)
    tokens = state.usage.input_tokens + state.usage.output_tokens
    steps = f", {len(state.steps)} tool steps" if state.steps else ""
    detail = f"{label} answered in {duration(state.duration_ms)} ({len(state.turns)} turns, {tokens} tokens{steps})"
    if unplannable:
        detail += "; it plans only with tools, so the run ended failed as designed"
    return passed(probe.check, detail)


def run_checks(
    platform: Platform,
    health: HealthView,
    tools: list[ToolView] | None,
    *,
    run_timeout: float,
    expect_reasoner: str | None,
    clock: Callable[[], float] = time.monotonic,
) -> list[CheckResult]:
    """A read-only call on every configured server and one task for the reasoner, run side by side."""
    in_order: list[CheckResult | Probe] = []
    for server in health.servers:
        check = f"tool call {server.server}"
        listed = [tool for tool in tools or [] if tool.server == server.server]
        if not listed:
            in_order.append(skipped(check, "no tools listed to call (see above)", server=server.server))
            continue
        tool = choose_probe(server.server, listed)
        if tool is not None and not tool.available:
            # The server said why before any call: a setting to change, not a server to fix.
            reason = f"{server.server}.{tool.name} cannot run on its server now: {tool.unavailable_reason}"
            remedy = f"set {tool.setting}" if tool.setting else "see the server's capabilities in 'health'"
            in_order.append(warned(check, _short(reason), remedy, server=server.server))
            continue
        if tool is None:
            remedy = "nothing to do if the server is meant to have no read-only tool without arguments"
            detail = f"{server.server} has no read-only tool that needs no arguments, so none was called"
            in_order.append(warned(check, detail, remedy, server=server.server))
            continue
        probe = Probe(check, server.server, f"{server.server}.{tool.name}")
        step = {"id": "probe", "tool": probe.label, "arguments": {}}
        _start(platform, probe, {"workflow": {"name": workflow_name(server.server), "steps": [step]}})
        in_order.append(probe)
    reasoner = Probe("reasoner", None, "reasoner")
    _start(platform, reasoner, {"task": REASONER_TASK})
    _watch(platform, [*(item for item in in_order if isinstance(item, Probe)), reasoner], run_timeout, clock)
    results = [judge_tool_call(item, run_timeout) if isinstance(item, Probe) else item for item in in_order]
    results.append(judge_reasoner(reasoner, health, expect_reasoner, run_timeout))
    return results
