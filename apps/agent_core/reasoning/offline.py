"""The ``offline`` reasoner: a deterministic planner, the embedded default when no model is configured.

It matches the task to tools by keywords (``offline_plan``), fills the arguments the task states
plainly (``offline_args``), runs the calls it can make in one ``execute``, and answers with a
templated summary of the results. It says that it is not a language model, so nobody mistakes its
answer for one. Its two "turns" (the plan and the summary) are recorded like a model's, with
``model=None`` and no tokens. The same task and catalog always give the same calls.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any

from apps.agent_core.model import TokenUsage, ToolCall, ToolOutcome
from apps.agent_core.reasoning.base import Budget, ModelTurn, ReasoningResult, ToolExecutor, ToolSpec, TurnRecorder
from apps.agent_core.reasoning.offline_args import fill_arguments
from apps.agent_core.reasoning.offline_plan import rank_tools

__all__ = ["OFFLINE_NOTICE", "OfflineReasoner", "describe_value"]

OFFLINE_NOTICE = (
    "Answered by the offline planner (no language model is configured): it matched your task to tools by "
    "keywords and ran them as written. Set AGENTIC_REASONER to bedrock or openai for a model's reasoning."
)
_MAX_LIST_ITEMS = 5
_MAX_FIELDS = 8
_MAX_VALUE_CHARS = 120
_MAX_ANSWER_CHARS = 8_000
_LABEL_KEYS = ("name", "id", "key", "title", "job_name", "location", "date")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _label(item: Any) -> str:
    if isinstance(item, dict):
        for key in _LABEL_KEYS:
            if isinstance(item.get(key), (str, int, float)):
                return _short(item[key])
        scalars = [v for v in item.values() if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
        return _short(scalars[0]) if scalars else _short(item)
    return _short(item)


def _describe_list(name: str, items: list[Any]) -> str:
    if not items:
        return f"{name}: none"
    shown = ", ".join(_label(item) for item in items[:_MAX_LIST_ITEMS])
    more = f", … ({len(items) - _MAX_LIST_ITEMS} more)" if len(items) > _MAX_LIST_ITEMS else ""
    return f"{name}: {len(items)} ({shown}{more})"


def describe_value(value: Any) -> str:
    """The key facts of a result in one line: list sizes and first items, then a few scalar fields."""
    if isinstance(value, list):
        return _describe_list("items", value)
    if not isinstance(value, dict):
        return _short(value) if value is not None else "no result"
    facts: list[str] = []
    for key, item in value.items():
        if isinstance(item, list):
            facts.append(_describe_list(key, item))
    for key, item in value.items():
        if len(facts) >= _MAX_FIELDS:
            break
        if isinstance(item, dict):
            inner = [f"{k}={_short(v)}" for k, v in item.items() if v is not None and not isinstance(v, (dict, list))]
            if inner:
                facts.append(f"{key}: {', '.join(inner[:_MAX_FIELDS])}")
        elif not isinstance(item, list) and item is not None:
            facts.append(f"{key}: {_short(item)}")
    return "; ".join(facts) if facts else "an empty result"


def _call_text(call: ToolCall) -> str:
    arguments = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in call.arguments.items())
    return f"{call.server}.{call.tool}({arguments})"


def _call_id(task: str, index: int, spec: ToolSpec) -> str:
    # Derived from the task, so a repeated plan has the same ids (a journal can be compared run to run).
    digest = hashlib.sha256(f"{task}\0{index}\0{spec.server}\0{spec.name}".encode()).hexdigest()[:12]
    return f"offline_{index}_{digest}"


class OfflineReasoner:
    """Plans with keyword matching instead of a model; needs no network and no configuration."""

    name = "offline"

    def __init__(self) -> None:
        self.model: str | None = None

    def plan(self, task: str, tools: list[ToolSpec]) -> tuple[list[ToolCall], list[str]]:
        """The calls to make, and notes on matching tools it will not call (and why)."""
        chosen, refused = rank_tools(task, tools)
        calls: list[ToolCall] = []
        notes: list[str] = []
        for candidate in chosen:
            spec = candidate.spec
            filled = fill_arguments(task, spec)
            if filled.missing:
                notes.append(
                    f"{spec.server}.{spec.name} was not called: the task does not give {', '.join(filled.missing)}."
                )
                continue
            calls.append(
                ToolCall(
                    id=_call_id(task, len(calls) + 1, spec),
                    server=spec.server,
                    tool=spec.name,
                    arguments=filled.arguments,
                )
            )
        for candidate in refused:
            spec = candidate.spec
            notes.append(
                f"{spec.server}.{spec.name} matches the task but was not called: {candidate.refused}. "
                f"Ask for it by name (e.g. '{spec.name.replace('_', ' ')} …') to run it."
            )
        return calls, notes

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
        # The plan is a pure function of the task and the tools, so a resumed run plans the same calls
        # again and the journal answers those that ran; ``replay`` has nothing to add.
        started = time.perf_counter()
        calls, notes = self.plan(task, tools)
        plan_text = (
            "Plan: " + "; ".join(_call_text(call) for call in calls) if calls else "Plan: no tool matches the task."
        )
        await record_turn(
            ModelTurn(
                index=1,
                model=None,
                text=plan_text,
                tool_calls=calls,
                stop_reason="tool_use" if calls else "end_turn",
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        )
        # Running the plan and summing it up is the second turn; a one-turn budget only plans.
        can_run = budget.max_turns > 1
        outcomes = await execute(calls) if calls and can_run else []
        by_id = {outcome.call_id: outcome for outcome in outcomes}
        answer = self._answer(calls, by_id, notes, tools, ran=can_run)
        await record_turn(ModelTurn(index=2, model=None, text=answer, stop_reason="end_turn"))
        return ReasoningResult(final_answer=answer, stop_reason="end_turn", usage=TokenUsage(), turns=2)

    @staticmethod
    def _answer(
        calls: list[ToolCall], outcomes: dict[str, ToolOutcome], notes: list[str], tools: list[ToolSpec], *, ran: bool
    ) -> str:
        lines = [OFFLINE_NOTICE, ""]
        if not calls and not notes:
            names = sorted(f"{spec.server}.{spec.name}" for spec in tools)
            available = ", ".join(names[:20]) + (" …" if len(names) > 20 else "") if names else "none"
            lines.append(
                "No tool matches this task, so nothing was run. Name what you want in a tool's terms "
                f"(for example 'list S3 buckets' or 'weather in Paris'). Tools available: {available}."
            )
        if calls and not ran:
            lines.append("The run's budget allows no turn after planning, so nothing was run.")
        for call in calls if ran else []:
            outcome = outcomes.get(call.id)
            if outcome is None:
                lines.append(f"- {_call_text(call)}: no result came back.")
            elif outcome.ok:
                lines.append(f"- {_call_text(call)}: {describe_value(outcome.result)}")
            else:
                lines.append(f"- {_call_text(call)} failed: {_short(outcome.error or 'no error message')}")
        lines += [f"- {note}" for note in notes]
        answer = "\n".join(lines).strip()
        return answer if len(answer) <= _MAX_ANSWER_CHARS else answer[: _MAX_ANSWER_CHARS - 1] + "…"

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
            [
                "Summary by the offline planner (no language model is configured), for: " + instruction.strip(),
                *facts,
            ]
        )
        return text[:_MAX_ANSWER_CHARS], TokenUsage()

    async def aclose(self) -> None:
        return None


def _describe_step(state: Any) -> str:
    if not isinstance(state, dict):
        return describe_value(state)
    if state.get("error"):
        return f"{state.get('status', 'failed')}: {state['error']}"
    if state.get("status") == "skipped":
        return "skipped"
    return describe_value(state.get("result"))
