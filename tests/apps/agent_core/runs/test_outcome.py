"""How a task run ends, from its reasoning result and the last outcome of each tool call (``runs/outcome.py``)."""

from __future__ import annotations

import pytest

from apps.agent_core.model import ToolCall, ToolOutcome
from apps.agent_core.reasoning.base import ReasoningResult
from apps.agent_core.runs.outcome import TaskEnding, TurnCalls, task_outcome

ANSWER = "It is 18 °C in Paris."


def answered(stop_reason: str = "end_turn", unanswered: str | None = None) -> ReasoningResult:
    return ReasoningResult(final_answer=ANSWER, stop_reason=stop_reason, unanswered=unanswered)


def call(step_id: str, tool: str, error: str | None = None, **arguments: object) -> tuple[str, ToolCall, ToolOutcome]:
    server, name = tool.split(".")
    made = ToolCall(id=f"id-{step_id}", server=server, tool=name, arguments=dict(arguments))
    outcome = ToolOutcome(call_id=made.id, ok=error is None, result=None if error else {"ok": 1}, error=error)
    return step_id, made, outcome


def test_calls_that_worked_succeed_with_the_answer_as_is() -> None:
    turns: list[TurnCalls] = [[call("call-1", "custom.get_weather", location="Paris")], [call("call-2", "aws.list")]]
    assert task_outcome(answered(), turns) == TaskEnding(status="succeeded", final_answer=ANSWER)


def test_a_model_that_answered_without_tools_succeeds() -> None:
    assert task_outcome(answered(), []) == TaskEnding(status="succeeded", final_answer=ANSWER)


def test_a_failed_call_fails_the_run_and_the_answer_lists_it() -> None:
    turns: list[TurnCalls] = [
        [
            call("call-1", "custom.get_weather", "weather service unreachable", location="Paris"),
            call("call-2", "aws.list_s3_buckets"),
        ]
    ]
    ending = task_outcome(answered(), turns)
    assert ending.status == "failed"
    assert ending.error == "1 of 2 tool calls failed: custom.get_weather (weather service unreachable)."
    assert ending.final_answer == (
        f"{ANSWER}\n\nSteps that failed:\n- call-1 custom.get_weather: weather service unreachable"
    )


def test_rejected_and_expired_calls_fail_the_run_naming_each() -> None:
    rejected = "kubernetes.scale_deployment was rejected; it did not run."
    expired = "kubernetes.restart expired before anyone approved it; it did not run."
    turns: list[TurnCalls] = [
        [call("call-1", "custom.get_weather", "HTTP 503 " + "x" * 300)],
        [call("call-2", "kubernetes.scale_deployment", rejected), call("call-3", "kubernetes.restart", expired)],
    ]
    ending = task_outcome(answered(), turns)
    assert ending.status == "failed"
    assert ending.error is not None
    assert ending.error.startswith("3 of 3 tool calls failed: custom.get_weather (HTTP 503 xxx")
    assert "…), kubernetes.scale_deployment (was rejected; it did not run), kubernetes.restart (" in ending.error
    assert ending.error.endswith("(expired before anyone approved it; it did not run).")
    assert len(ending.error) < 500, "each error is clipped"
    steps = ending.final_answer.split("Steps that failed:\n", 1)[1].splitlines()
    assert steps[1:] == [
        "- call-2 kubernetes.scale_deployment: was rejected; it did not run",
        "- call-3 kubernetes.restart: expired before anyone approved it; it did not run",
    ]


def test_the_call_is_named_once_not_again_by_its_error() -> None:
    turns: list[TurnCalls] = [[call("call-1", "lab.always_fails", "Error executing tool always_fails: disk on fire")]]
    ending = task_outcome(answered(), turns)
    assert ending.error == "1 of 1 tool call failed: lab.always_fails (disk on fire)."
    assert ending.final_answer.endswith("- call-1 lab.always_fails: disk on fire")
    blank: list[TurnCalls] = [[call("call-1", "lab.always_fails", "")]]
    assert task_outcome(answered(), blank).error == "1 of 1 tool call failed: lab.always_fails (no error message)."


def test_a_retry_that_succeeded_in_a_later_turn_makes_good_an_earlier_failure() -> None:
    turns: list[TurnCalls] = [
        [call("call-1", "custom.get_weather", "unknown location 'Pari'", location="Pari")],
        [call("call-2", "custom.get_weather", location="Paris")],
    ]
    assert task_outcome(answered(), turns).status == "succeeded"


def test_a_retry_that_failed_too_or_came_first_does_not() -> None:
    both_failed: list[TurnCalls] = [
        [call("call-1", "custom.get_weather", "timed out")],
        [call("call-2", "custom.get_weather", "timed out again")],
    ]
    ending = task_outcome(answered(), both_failed)
    assert ending.error == (
        "2 of 2 tool calls failed: custom.get_weather (timed out), custom.get_weather (timed out again)."
    )
    success_first: list[TurnCalls] = [
        [call("call-1", "custom.get_weather", location="Paris")],
        [call("call-2", "custom.get_weather", "timed out", location="London")],
    ]
    assert task_outcome(answered(), success_first).status == "failed"


def test_calls_of_one_turn_are_not_retries_of_each_other() -> None:
    turns: list[TurnCalls] = [
        [
            call("call-1", "custom.get_weather", "unknown location", location="Atlantis"),
            call("call-2", "custom.get_weather", location="London"),
        ]
    ]
    ending = task_outcome(answered(), turns)
    assert ending.status == "failed"
    assert ending.error == "1 of 2 tool calls failed: custom.get_weather (unknown location)."


def test_another_tool_succeeding_later_does_not_make_good_a_failure() -> None:
    turns: list[TurnCalls] = [
        [call("call-1", "database.execute_query", "no such table: order")],
        [call("call-2", "aws.list")],
    ]
    assert task_outcome(answered(), turns).status == "failed"


def test_a_task_nothing_could_be_planned_for_fails_saying_so() -> None:
    ending = task_outcome(answered(unanswered="no tool matches this task"), [])
    assert ending == TaskEnding(
        status="failed",
        final_answer=ANSWER,
        error="The reasoner could not plan this task: no tool matches this task.",
    )


@pytest.mark.parametrize("stop_reason", ["max_turns", "max_tokens"])
def test_reasoning_stopped_at_its_budget_fails_as_incomplete(stop_reason: str) -> None:
    ending = task_outcome(answered(stop_reason), [[call("call-1", "aws.list")]])
    assert ending.status == "failed" and ending.final_answer == ANSWER
    assert ending.error == (
        f"The reasoning stopped at its budget ({stop_reason}) before it finished, so the answer is incomplete."
    )


def test_every_reason_is_given_together() -> None:
    turns: list[TurnCalls] = [[call("call-1", "database.get_schema", "database server unreachable")]]
    ending = task_outcome(answered("max_turns", unanswered="database.get_schema failed, so no SQL was written."), turns)
    assert ending.error == (
        "The reasoner could not plan this task: database.get_schema failed, so no SQL was written. "
        "The reasoning stopped at its budget (max_turns) before it finished, so the answer is incomplete. "
        "1 of 1 tool call failed: database.get_schema (database server unreachable)."
    )
    assert ending.final_answer.endswith("Steps that failed:\n- call-1 database.get_schema: database server unreachable")
