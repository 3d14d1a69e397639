"""How a task run ends: ``succeeded`` only if its answer stands on tool results that worked.

A workflow's engine judges each step against the document; a task run has only the reasoner's
answer, which reads the same whether the tools behind it worked or not. So the run is judged here,
from the reasoning's result and the last outcome of every tool call it made. A task run ends
``failed`` when:

(a) the reasoner could not plan anything (``ReasoningResult.unanswered``: the offline planner found no
    tool for the task, or could not write the SQL it needed);
(b) the reasoning stopped at its budget (stop reason ``max_turns`` or ``max_tokens``): the answer is
    incomplete;
(c) a tool call failed, or was rejected or its approval expired (so it did not run), unless a call of
    the same ``server.tool`` in a LATER turn succeeded: a model that retried and got it stands on that
    result. Calls of one turn were asked for together, so they are never retries of each other
    (weather in Paris failing is not made good by weather in London).

Otherwise it ``succeeded``, a model that answered without calling any tool included. A failed run
keeps its final answer, which is still shown, with a last paragraph listing each step that failed
and its error; ``error`` says why, naming the calls.

The paragraph gives each error whole up to a bound no error of the platform's servers reaches, and past it
keeps the start and the end: those servers end an error with what to do (set a variable, grant a permission,
"Nothing was changed."), which a cut at the end would lose. ``error`` is one line that names the calls, so
there each error is only its start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from apps.agent_core.model import ToolCall, ToolOutcome
from apps.agent_core.reasoning.base import ReasoningResult
from apps.agent_core.reasoning.offline_answer import clip

__all__ = ["BUDGET_STOP_REASONS", "TaskEnding", "TurnCalls", "task_outcome"]

BUDGET_STOP_REASONS = frozenset({"max_turns", "max_tokens"})
_ERROR_CHARS = 120
"""Per call in ``error``, which names every failed call in one line."""
_STEP_ERROR_CHARS = 1_000
"""Per step in the answer's last paragraph, where there is room to read it all: the longest errors the
platform's servers write, an AWS message (cut at 500) inside a sentence of advice, stay under this."""

TurnCalls = Sequence[tuple[str, ToolCall, ToolOutcome]]
"""The calls of one reasoner turn, in order: (step id, the call, its last outcome)."""


class TaskEnding(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Literal["succeeded", "failed"]
    final_answer: str
    error: str | None = None
    """Why it failed, naming the calls; ``None`` when it succeeded."""


def task_outcome(result: ReasoningResult, turns: Sequence[TurnCalls]) -> TaskEnding:
    """The ending of a task run whose reasoner returned ``result`` after making the calls in ``turns``."""
    failed = _failed_calls(turns)
    reasons: list[str] = []
    if result.unanswered is not None:
        reasons.append(f"The reasoner could not plan this task: {_clip(result.unanswered, 300)}")
    if result.stop_reason in BUDGET_STOP_REASONS:
        reasons.append(
            f"The reasoning stopped at its budget ({result.stop_reason}) before it finished, so the answer is "
            "incomplete"
        )
    if failed:
        total = sum(len(calls) for calls in turns)
        named = ", ".join(
            f"{_name(call)} ({_clip(_own_error(call, outcome), _ERROR_CHARS)})" for _, call, outcome in failed
        )
        reasons.append(f"{len(failed)} of {total} tool call{'s' if total != 1 else ''} failed: {named}")
    if not reasons:
        return TaskEnding(status="succeeded", final_answer=result.final_answer)
    answer = result.final_answer
    if failed:
        steps = "\n".join(
            f"- {step_id} {_name(call)}: {clip(' '.join(_own_error(call, outcome).split()), _STEP_ERROR_CHARS)}"
            for step_id, call, outcome in failed
        )
        answer = f"{answer.rstrip()}\n\nSteps that failed:\n{steps}"
    return TaskEnding(status="failed", final_answer=answer, error=" ".join(f"{r.rstrip('.')}." for r in reasons))


def _failed_calls(turns: Sequence[TurnCalls]) -> list[tuple[str, ToolCall, ToolOutcome]]:
    """Calls that did not work and were not made good by the same tool succeeding in a later turn."""
    failed = []
    for index, calls in enumerate(turns):
        for step_id, call, outcome in calls:
            if outcome.ok:
                continue
            retried = any(
                later_outcome.ok and _name(later) == _name(call)
                for later_calls in turns[index + 1 :]
                for _, later, later_outcome in later_calls
            )
            if not retried:
                failed.append((step_id, call, outcome))
    return failed


def _name(call: ToolCall) -> str:
    return f"{call.server}.{call.tool}" if call.server else call.tool


def _own_error(call: ToolCall, outcome: ToolOutcome) -> str:
    # The call is named already: drop the name a refusal starts with ("kubernetes.scale_deployment was
    # rejected; …") and the MCP SDK's "Error executing tool <name>: " before a tool's own words.
    error = (outcome.error or "").strip().removeprefix(f"{_name(call)} ")
    error = error.removeprefix(f"Error executing tool {call.tool}: ").rstrip(".")
    return error or "no error message"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
