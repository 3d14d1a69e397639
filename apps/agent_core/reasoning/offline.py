"""The ``offline`` reasoner: a deterministic planner, the embedded default when no model is configured.

It plans the task over the live catalog (``planner``: one call per clause, SQL written from the
database's schema, results passed on by workflow references), then runs the plan one turn at a
time: every call whose inputs are ready runs in the same turn, and a call that reads an earlier
result (``{{ steps.<id>.result… }}``) runs in a later turn, with the reference resolved from what
that step returned. It answers with a templated summary and says that it is not a language model,
so nobody mistakes its answer for one. Turns are recorded like a model's, with ``model=None`` and
no tokens.

The database's schema, when a question needs it, is read with the server's own schema tool (a turn
of its own) and kept for the life of the reasoner, i.e. the process. The plan is a pure function of
the task, the tools and the schemas read, and call ids are derived from the task and the step, so
a resumed run plans the same calls again and the journal answers those that ran.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apps.agent_core.model import ModelTurn, TokenUsage, ToolCall, ToolOutcome, ToolSpec, offered
from apps.agent_core.reasoning.base import Budget, ReasoningResult, ToolExecutor, TurnRecorder
from apps.agent_core.reasoning.offline_answer import (
    MAX_ANSWER_CHARS,
    call_text,
    clip,
    describe_value,
    model_hint,
)
from apps.agent_core.reasoning.planner import Plan, PlannedStep, Schema, parse_schema, plan_task
from apps.agent_core.workflows.references import ExpressionError, contains_template, resolve

__all__ = ["OFFLINE_NOTICE", "OfflineReasoner", "describe_value"]

OFFLINE_NOTICE = (
    "Answered by the offline planner (no language model is configured): it matched your task to the tools' "
    "names, descriptions and inputs, and ran the calls below as planned."
)
_MAX_ARGUMENT_CHARS = 400


def _call_id(task: str, key: str, spec: ToolSpec) -> str:
    # Derived from the task and the step, so a repeated plan has the same ids (a journal can be compared run to run).
    digest = hashlib.sha256(f"{task}\0{key}\0{spec.server}\0{spec.name}".encode()).hexdigest()[:12]
    return f"offline_{key.replace(':', '_')}_{digest}"[:64]


def _shown(call: ToolCall) -> str:
    return call_text(call.server, call.tool, {k: _clipped(v) for k, v in call.arguments.items()})


def _clipped(value: Any) -> Any:
    return value if isinstance(value, (int, float, bool)) or value is None else clip(value, _MAX_ARGUMENT_CHARS)


@dataclass
class _Ran:
    step: PlannedStep
    call: ToolCall | None = None
    outcome: ToolOutcome | None = None
    skipped: str | None = None


class _Turns:
    """Records the reasoner's turns in order, each with how long it took to decide."""

    def __init__(self, record_turn: TurnRecorder, budget: Budget) -> None:
        self._record_turn = record_turn
        self._budget = budget
        self.count = 0
        self.ran_out = False
        """Set when the budget stopped the plan before every call ran: the answer is incomplete."""
        self._since = time.perf_counter()

    async def record(self, text: str, calls: list[ToolCall]) -> bool:
        """Records a turn; True when a turn is left after it to read what its calls return."""
        self.count += 1
        duration = round((time.perf_counter() - self._since) * 1000, 3)
        await self._record_turn(
            ModelTurn(
                index=self.count,
                model=None,
                text=text,
                tool_calls=calls,
                stop_reason="tool_use" if calls else "end_turn",
                duration_ms=duration,
            )
        )
        self._since = time.perf_counter()
        return self.count < self._budget.max_turns


_NOTHING_RAN = "The run's budget allows no turn after planning, so nothing was run."
_NO_MATCH = "no tool matches this task"


class OfflineReasoner:
    """Plans with the catalog's own words instead of a model; needs no network and no configuration."""

    name = "offline"

    def __init__(self) -> None:
        self.model: str | None = None
        self._schemas: dict[str, Schema | None] = {}
        """Database schemas read so far, by server: kept for the life of the process."""

    def plan(self, task: str, tools: list[ToolSpec]) -> Plan:
        """The plan with the schemas this reasoner has read; ``schema_needed`` when one must be read first."""
        return _plan(task, tools, self._schemas)

    async def run(
        self,
        task: str,
        tools: list[ToolSpec],
        execute: ToolExecutor,
        record_turn: TurnRecorder,
        budget: Budget,
        *,
        replay: Mapping[int, ModelTurn] | None = None,
    ) -> ReasoningResult:
        turns = _Turns(record_turn, budget)
        read_here: dict[str, Schema | None] = {}
        notes: list[str] = []
        plan = _plan(task, tools, self._schemas)
        ran: list[_Ran] = []
        while plan.schema_needed is not None:
            spec = plan.schema_needed
            call = ToolCall(
                id=_call_id(task, f"schema:{spec.server}", spec), server=spec.server, tool=spec.name, arguments={}
            )
            if not await turns.record(f"Plan: read the database schema first: {_shown(call)}", [call]):
                turns.ran_out = True
                notes.append(_NOTHING_RAN)
                break
            outcomes = await execute([call])
            outcome = outcomes[0] if outcomes else ToolOutcome(call_id=call.id, ok=False, error="no result came back")
            schema = parse_schema(outcome.result) if outcome.ok else None
            if outcome.ok:
                self._schemas[spec.server] = schema  # kept; a failed read is tried again by the next run
            else:
                error = clip(outcome.error or "no error message")
                notes.append(f"{spec.server}.{spec.name} failed, so no SQL was written: {error}")
            read_here[spec.server] = schema
            plan = _plan(task, tools, {**self._schemas, **read_here})
        else:
            ran = await self._run_plan(task, plan, execute, turns, notes)
            notes += plan.notes
        answer = _answer(ran, notes, offered(tools))
        await turns.record(answer, [])
        return ReasoningResult(
            final_answer=answer,
            stop_reason="max_turns" if turns.ran_out else "end_turn",
            usage=TokenUsage(),
            turns=turns.count,
            unanswered=_unanswered(ran, notes, turns),
        )

    @staticmethod
    async def _run_plan(task: str, plan: Plan, execute: ToolExecutor, turns: _Turns, notes: list[str]) -> list[_Ran]:
        ran = {step.id: _Ran(step) for step in plan.steps}
        if not plan.steps and turns.count == 0:
            await turns.record("Plan: no tool that can run now matches the task.", [])
        context: dict[str, Any] = {"steps": {}, "inputs": {}}
        pending = list(plan.steps)
        while pending:
            # Every step reads only earlier ones, so each round makes progress.
            wave = [step for step in pending if all(ran[a].outcome or ran[a].skipped for a in step.after)]
            pending = [step for step in pending if step not in wave]
            calls = [call for step in wave if (call := _prepare(task, step, ran, context)) is not None]
            if not calls:
                continue
            first = turns.count == 0 or all(entry.outcome is None for entry in ran.values())
            text = (
                "Plan: " + "; ".join(_planned(s) for s in plan.steps)
                if first
                else "Next: " + "; ".join(map(_shown, calls))
            )
            if not await turns.record(text, calls):
                turns.ran_out = True
                notes.append(_NOTHING_RAN if first else "The run's budget ended before every planned call ran.")
                for entry in ran.values():
                    entry.call = entry.call if entry.outcome else None
                break
            by_id = {outcome.call_id: outcome for outcome in await execute(calls)}
            for call in calls:
                entry = next(e for e in ran.values() if e.call is call)
                entry.outcome = by_id.get(call.id) or ToolOutcome(
                    call_id=call.id, ok=False, error="no result came back"
                )
                context["steps"][entry.step.id] = {
                    "result": entry.outcome.result,
                    "status": "succeeded" if entry.outcome.ok else "failed",
                    "error": entry.outcome.error,
                }
        return list(ran.values())

    async def summarize(self, instruction: str, data: Any) -> tuple[str, TokenUsage]:
        steps = data.get("steps") if isinstance(data, dict) else None
        if isinstance(steps, dict) and steps:
            # A workflow's context: one line per step, its result or why it has none.
            facts = [f"- {step_id}: {_describe_step(state)}" for step_id, state in steps.items()]
        elif isinstance(data, dict) and data and all(isinstance(v, (dict, list)) for v in data.values()):
            facts = [f"- {key}: {describe_value(value)}" for key, value in data.items()]
        else:
            facts = [f"- {describe_value(data)}"]
        text = "\n".join(
            ["Summary by the offline planner (no language model is configured), for: " + instruction.strip(), *facts]
        )
        return text[:MAX_ANSWER_CHARS], TokenUsage()

    async def aclose(self) -> None:
        return None


def _succeeded(outcome: ToolOutcome | None) -> bool:
    return outcome is not None and outcome.ok


def _prepare(task: str, step: PlannedStep, ran: dict[str, _Ran], context: dict[str, Any]) -> ToolCall | None:
    """The step's call with its references resolved, or None (and why) when it cannot run."""
    entry = ran[step.id]
    failed = [a for a in step.after if ran[a].skipped or not _succeeded(ran[a].outcome)]
    if failed:
        entry.skipped = f"not run, because {', '.join(failed)} did not succeed"
        return None
    try:
        arguments = resolve(step.arguments, context) if contains_template(step.arguments) else step.arguments
    except ExpressionError as exc:
        entry.skipped = f"not run: {exc}"
        return None
    entry.call = ToolCall(
        id=_call_id(task, step.id, step.spec), server=step.spec.server, tool=step.spec.name, arguments=arguments
    )
    return entry.call


def _unanswered(ran: list[_Ran], notes: list[str], turns: _Turns) -> str | None:
    """Why nothing the plan asked for ran, or None: the notes say why (or no tool matched at all).

    A budget that stopped the plan is its own reason (``max_turns``), and reading the schema is only
    preparation: what counts is whether any planned call ran."""
    if turns.ran_out or any(entry.outcome is not None for entry in ran):
        return None
    return " ".join(notes) if notes else _NO_MATCH


def _planned(step: PlannedStep) -> str:
    return call_text(step.spec.server, step.spec.name, {k: _clipped(v) for k, v in step.arguments.items()})


def _plan(task: str, tools: list[ToolSpec], schemas: Mapping[str, Schema | None]) -> Plan:
    """The plan, unless it needs a tool its server cannot run now: then no steps, and a note saying why and what
    to change, rather than a lesser plan (the cluster's status for "scale web") or an approval for a doomed call."""
    plan = plan_task(task, tools, schemas)
    needed = [step.spec for step in plan.steps] + ([plan.schema_needed] if plan.schema_needed else [])
    blocked = [spec.unavailable_message() for spec in needed if not spec.available]
    return Plan(notes=tuple(dict.fromkeys(blocked))) if blocked else plan


def _answer(ran: list[_Ran], notes: list[str], tools: list[ToolSpec]) -> str:
    lines = [OFFLINE_NOTICE, ""]
    if not ran and not notes:
        names = sorted(f"{spec.server}.{spec.name}" for spec in tools)
        available = ", ".join(names[:20]) + (" …" if len(names) > 20 else "") if names else "none"
        lines.append(
            "No tool matches this task, so nothing was run. Name what you want in a tool's terms "
            f"(for example 'list S3 buckets' or 'weather in Paris'). Tools available: {available}."
        )
    for entry in ran:
        if entry.call is None:
            if entry.skipped:
                lines.append(f"- {_planned(entry.step)} was {entry.skipped}.")
            continue
        outcome = entry.outcome
        if outcome is None:
            continue
        if outcome.ok:
            lines.append(f"- {_shown(entry.call)}: {describe_value(outcome.result)}")
        else:
            lines.append(f"- {_shown(entry.call)} failed: {clip(outcome.error or 'no error message')}")
        if entry.step.reason.startswith("SQL"):
            lines.append(f"  ({entry.step.reason})")
    lines += [f"- {note}" for note in notes]
    if not ran or notes:
        lines.append(
            "For what the planner cannot do, start a workflow template (GET /api/templates) or write the steps as a "
            "workflow. " + model_hint()
        )
    answer = "\n".join(lines).strip()
    return answer if len(answer) <= MAX_ANSWER_CHARS else answer[: MAX_ANSWER_CHARS - 1] + "…"


def _describe_step(state: Any) -> str:
    if not isinstance(state, dict):
        return describe_value(state)
    if state.get("error"):
        return f"{state.get('status', 'failed')}: {state['error']}"
    if state.get("status") == "skipped":
        return "skipped"
    return describe_value(state.get("result"))
