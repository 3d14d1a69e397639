"""The engine with a scripted step runner: order, references, concurrency, conditions, errors, cancellation."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from apps.agent_core.model import ToolCall, ToolOutcome
from apps.agent_core.workflows.document import parse_workflow
from apps.agent_core.workflows.engine import WorkflowResult, run_workflow

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Fail:
    error: str
    retryable: bool | None = None


@dataclass
class Recorded:
    step_id: str
    call: ToolCall
    attempt: int
    timeout: float | None
    started: float
    ended: float | None = None
    cancelled: bool = False


@dataclass
class FakeRunner:
    """Answers each step from a script (one entry per attempt; the last repeats), else echoes the arguments."""

    script: dict[str, list[Any]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    calls: list[Recorded] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    async def run_step(self, step_id: str, call: ToolCall, attempt: int, timeout: float | None) -> ToolOutcome:
        record = Recorded(step_id, call, attempt, timeout, time.monotonic())
        self.calls.append(record)
        try:
            await anyio.sleep(self.delays.get(step_id, 0))
        except anyio.get_cancelled_exc_class():
            record.cancelled = True
            raise
        record.ended = time.monotonic()
        plan = self.script.get(step_id)
        answer = plan[min(attempt, len(plan)) - 1] if plan else {"echo": call.arguments}
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, Fail):
            return ToolOutcome(call_id=call.id, ok=False, error=answer.error, retryable=answer.retryable)
        return ToolOutcome(call_id=call.id, ok=True, result=answer)

    async def skip_step(self, step_id: str, reason: str) -> None:
        self.skipped.append((step_id, reason))

    def called(self) -> list[tuple[str, int]]:
        return [(record.step_id, record.attempt) for record in self.calls]

    def arguments(self, step_id: str) -> dict[str, Any]:
        return next(record.call.arguments for record in self.calls if record.step_id == step_id)


async def run(runner: FakeRunner, document: dict[str, Any], analyze: Any = None, **kwargs: Any) -> WorkflowResult:
    doc = parse_workflow({"name": "test", **document})
    return await run_workflow(doc, run_step=runner.run_step, skip_step=runner.skip_step, analyze=analyze, **kwargs)


def step(id_: str, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "tool": "srv.tool", **extra}


async def test_arguments_are_resolved_from_earlier_results_and_inputs() -> None:
    runner = FakeRunner(script={"list": [{"items": [{"name": "logs"}, {"name": "data"}]}]})

    result = await run(
        runner,
        {
            "inputs": {"location": "London", "limit": 2},
            "steps": [
                step("list", arguments={"limit": "{{ inputs.limit }}"}),
                step(
                    "use",
                    arguments={
                        "first": "{{ steps.list.result.items[0].name }}",
                        "names": "{{ steps.list.result.items[*].name }}",
                        "key": "w/{{ inputs.location }}",
                    },
                ),
            ],
        },
        inputs={"location": "Paris"},
    )

    assert runner.called() == [("list", 1), ("use", 1)]
    assert runner.arguments("list") == {"limit": 2}
    assert runner.arguments("use") == {"first": "logs", "names": ["logs", "data"], "key": "w/Paris"}
    call = runner.calls[1].call
    assert (call.server, call.tool) == ("srv", "tool")
    assert result.status == "succeeded"
    assert result.results["use"] == {"echo": {"first": "logs", "names": ["logs", "data"], "key": "w/Paris"}}
    assert result.failed_steps == [] and result.not_run == []
    assert result.final_answer == 'Workflow "test" succeeded: 2 succeeded.'


async def test_a_parallel_group_runs_its_steps_at_the_same_time() -> None:
    runner = FakeRunner(script={"a": [1], "b": [2]}, delays={"a": 0.2, "b": 0.2})

    started = time.monotonic()
    result = await run(
        runner,
        {
            "steps": [
                {"parallel": [step("a"), step("b")]},
                step("sum", arguments={"n": "{{ [steps.a.result, steps.b.result] }}"}),
            ]
        },
    )
    elapsed = time.monotonic() - started

    a, b = runner.calls[0], runner.calls[1]
    assert a.ended is not None and b.ended is not None
    assert max(a.started, b.started) < min(a.ended, b.ended)  # they overlapped
    assert elapsed < 0.35  # one step's time, not two
    assert runner.arguments("sum") == {"n": [1, 2]}
    assert result.status == "succeeded"


async def test_a_false_condition_skips_the_step_and_later_steps_see_null() -> None:
    runner = FakeRunner(script={"pods": [{"pods": [{"name": "web", "status": "Running"}]}]})
    failing = "steps.pods.result.pods[?status != 'Running'] | [0]"

    result = await run(
        runner,
        {
            "steps": [
                step("pods"),
                step("troubleshoot", when=failing, arguments={"name": "{{ " + failing + ".name }}"}),
                step("always", when="steps.pods.status == 'succeeded'"),
                step("report", arguments={"diagnosis": "{{ steps.troubleshoot.result }}"}),
            ]
        },
    )

    assert runner.called() == [("pods", 1), ("always", 1), ("report", 1)]
    assert runner.skipped == [("troubleshoot", f"when was false: {failing}")]
    assert result.steps["troubleshoot"].status == "skipped"
    assert result.steps["troubleshoot"].result is None
    assert runner.arguments("report") == {"diagnosis": None}
    assert result.status == "succeeded"
    assert result.final_answer == 'Workflow "test" succeeded: 3 succeeded, 1 skipped.'


async def test_a_failing_step_is_retried_with_backoff_then_replaced_by_its_fallback() -> None:
    runner = FakeRunner(script={"primary": [Fail("503"), Fail("503"), Fail("still 503")], "backup": [{"value": 42}]})
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    told: list[tuple[str, str]] = []

    async def recovered(step_id: str, fallback_id: str) -> None:
        told.append((step_id, fallback_id))

    result = await run(
        runner,
        {
            "steps": [
                step(
                    "primary",
                    retry={"attempts": 3, "backoff_seconds": 0.5},
                    timeout_seconds=12,
                    on_error={"fallback": step("backup", arguments={"why": "{{ steps.primary.error }}"})},
                ),
                step("later", arguments={"value": "{{ steps.primary.result.value }}"}),
            ]
        },
        sleep=no_wait,
        recovered_step=recovered,
    )

    assert told == [("primary", "backup")], "the run is told as it happens, so its journal can show it"
    assert runner.called() == [("primary", 1), ("primary", 2), ("primary", 3), ("backup", 1), ("later", 1)]
    assert [record.timeout for record in runner.calls[:3]] == [12, 12, 12]
    assert waits == [0.5, 1.0]
    assert runner.arguments("backup") == {"why": "still 503"}
    assert runner.arguments("later") == {"value": 42}
    primary = result.steps["primary"]
    assert (primary.status, primary.result, primary.error, primary.attempts, primary.fallback) == (
        "recovered",
        {"value": 42},
        "still 503",
        3,
        "backup",
    )
    assert result.steps["backup"].status == "succeeded"
    assert list(result.steps) == ["primary", "backup", "later"]
    assert result.status == "succeeded" and result.failed_steps == []


async def test_a_retry_that_succeeds_stops_retrying() -> None:
    runner = FakeRunner(script={"flaky": [Fail("timeout"), {"ok": True}]})

    result = await run(runner, {"steps": [step("flaky", retry={"attempts": 5, "backoff_seconds": 0})]})

    assert runner.called() == [("flaky", 1), ("flaky", 2)]
    assert result.steps["flaky"].attempts == 2
    assert result.results == {"flaky": {"ok": True}}


@pytest.mark.parametrize(("retryable", "attempts"), [(False, 1), (True, 3), (None, 3)])
async def test_a_failure_its_server_calls_not_retryable_is_not_retried(retryable: bool | None, attempts: int) -> None:
    # None: a server that says nothing (a third party's) is retried as before.
    runner = FakeRunner(script={"read": [Fail("No AWS credentials are configured", retryable=retryable)]})
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    result = await run(runner, {"steps": [step("read", retry={"attempts": 3, "backoff_seconds": 0.5})]}, sleep=no_wait)

    assert runner.called() == [("read", attempt) for attempt in range(1, attempts + 1)]
    state = result.steps["read"]
    assert (state.status, state.attempts) == ("failed", attempts)
    if retryable is False:
        assert waits == []
        assert state.error == (
            "No AWS credentials are configured (not retried: retrying would not help; attempt 1 of 3)"
        )
        assert result.error is not None and "not retried" in result.error
    else:
        assert waits == [0.5, 1.0]
        assert state.error == "No AWS credentials are configured"


async def test_continue_records_the_failure_and_goes_on() -> None:
    runner = FakeRunner(script={"optional": [Fail("AccessDenied")]})

    result = await run(
        runner,
        {"steps": [step("optional", on_error="continue"), step("next", arguments={"e": "{{ steps.optional.error }}"})]},
    )

    assert runner.called() == [("optional", 1), ("next", 1)]
    assert runner.arguments("next") == {"e": "AccessDenied"}
    assert result.status == "succeeded"
    assert result.failed_steps == ["optional"]
    assert result.errors == {"optional": "AccessDenied"}
    assert result.final_answer == 'Workflow "test" succeeded: 1 succeeded, 1 failed.'


async def test_fail_stops_the_workflow_but_keeps_every_result_so_far() -> None:
    runner = FakeRunner(script={"first": [{"n": 1}], "second": [Fail("boom")], "sibling": [{"n": 2}]})
    analyzed: list[str] = []

    async def analyze(instruction: str, data: Any) -> str:
        analyzed.append(instruction)
        return "never"

    result = await run(
        runner,
        {
            "steps": [
                step("first"),
                {"parallel": [step("second"), step("sibling")]},
                step("third"),
                step("fourth"),
            ],
            "analyze": {"instruction": "Summarise."},
        },
        analyze=analyze,
    )

    assert runner.called() == [("first", 1), ("second", 1), ("sibling", 1)]
    assert result.status == "failed"
    assert result.results == {"first": {"n": 1}, "sibling": {"n": 2}}
    assert result.failed_steps == ["second"]
    assert result.not_run == ["third", "fourth"]
    assert result.error == 'step "second" failed: boom'
    assert analyzed == []  # nothing to analyse in a workflow that stopped
    assert result.final_answer == (
        'Workflow "test" failed: 2 succeeded, 1 failed. step "second" failed: boom. Not run: third, fourth.'
    )


async def test_a_failing_fallback_fails_the_workflow_unless_it_says_continue() -> None:
    script = {"a": [Fail("down")], "a_fallback": [Fail("also down")]}
    fallback = {"fallback": step("a_fallback")}

    stopped = await run(FakeRunner(script=script), {"steps": [step("a", on_error=fallback), step("b")]})
    tolerant = await run(
        FakeRunner(script=script),
        {"steps": [step("a", on_error={"fallback": step("a_fallback", on_error="continue")}), step("b")]},
    )

    assert stopped.status == "failed"
    assert stopped.error == 'step "a" failed and so did its fallback "a_fallback": also down'
    assert stopped.failed_steps == ["a", "a_fallback"] and stopped.not_run == ["b"]
    assert tolerant.status == "succeeded" and "b" in tolerant.results


async def test_runner_exceptions_and_unresolvable_arguments_fail_the_step() -> None:
    runner = FakeRunner(script={"raises": [RuntimeError("connection reset")], "numbers": [[1, 2]]})

    result = await run(
        runner,
        {
            "steps": [
                step("raises", on_error="continue"),
                step("numbers"),
                step("bad", arguments={"n": "{{ length(steps.numbers.result[0]) }}"}, on_error="continue"),
            ]
        },
    )

    assert runner.called() == [("raises", 1), ("numbers", 1)]  # "bad" never reached the runner
    assert result.errors["raises"] == "RuntimeError: connection reset"
    # The error names the argument, then the expression.
    assert result.errors["bad"].startswith("could not resolve the step: arguments.n: 'length(steps.numbers.result[0])'")
    assert result.steps["bad"].attempts == 0


async def test_analyze_gets_the_instruction_and_every_result() -> None:
    runner = FakeRunner(script={"buckets": [{"buckets": ["a", "b"]}]})
    seen: list[tuple[str, Any]] = []

    async def analyze(instruction: str, data: Any) -> str:
        seen.append((instruction, data))
        return "Two buckets."

    result = await run(
        runner,
        {
            "inputs": {"account": "dev"},
            "steps": [step("buckets"), step("skipped", when="`false`")],
            "analyze": {
                "instruction": "Summarise {{ length(steps.buckets.result.buckets) }} buckets of {{ inputs.account }}."
            },
        },
        analyze=analyze,
    )

    assert result.final_answer == "Two buckets."
    assert result.status == "succeeded"
    [(instruction, data)] = seen
    assert instruction == "Summarise 2 buckets of dev."
    assert data["inputs"] == {"account": "dev"}
    assert data["steps"]["buckets"] == {"result": {"buckets": ["a", "b"]}, "status": "succeeded", "error": None}
    assert data["steps"]["skipped"]["status"] == "skipped"


async def test_a_failing_analysis_keeps_the_results() -> None:
    async def analyze(instruction: str, data: Any) -> str:
        raise RuntimeError("model unavailable")

    result = await run(
        FakeRunner(script={"a": [{"x": 1}]}), {"steps": [step("a")], "analyze": {"instruction": "Go."}}, analyze=analyze
    )

    assert result.status == "failed"
    assert result.results == {"a": {"x": 1}}
    assert result.error == "the analysis failed: RuntimeError: model unavailable"
    assert result.final_answer.startswith('Workflow "test" failed: 1 succeeded.')


async def test_without_an_analyzer_the_answer_is_a_summary() -> None:
    result = await run(FakeRunner(), {"steps": [step("a")], "analyze": {"instruction": "Go."}}, analyze=None)

    assert result.final_answer == 'Workflow "test" succeeded: 1 succeeded.'


async def test_the_summary_keeps_the_end_of_a_long_error_where_its_advice_is() -> None:
    advice = "Set AGENTIC_SCALABLE_NAMESPACES to allow it. Nothing was changed."
    error = "Scaling refused: " + "the namespace is not in the allowed list; " * 20 + advice
    runner = FakeRunner(script={"a": [Fail(error)]})

    result = await run(runner, {"steps": [step("a")]})

    assert result.final_answer.startswith('Workflow "test" failed: 1 failed. step "a" failed: Scaling refused:')
    assert result.final_answer.endswith(advice)
    assert "…" in result.final_answer and len(result.final_answer) < len(error)


async def test_unknown_inputs_are_refused_before_anything_runs() -> None:
    runner = FakeRunner()

    with pytest.raises(ValueError, match='unknown input "locaton"'):
        await run(runner, {"inputs": {"location": "x"}, "steps": [step("a")]}, inputs={"locaton": "y"})
    assert runner.calls == []


async def test_cancelling_the_run_cancels_steps_in_flight_at_once() -> None:
    runner = FakeRunner(delays={"slow": 10, "slower": 20})
    document = {"steps": [{"parallel": [step("slow"), step("slower")]}, step("after")]}

    started = time.monotonic()
    with anyio.move_on_after(0.2) as scope:
        await run(runner, document)
    elapsed = time.monotonic() - started

    assert scope.cancelled_caught
    assert elapsed < 5, "the steps' 10 and 20 s were waited for"  # not 0.2: a loaded machine may lag a second
    assert sorted(runner.called()) == [("slow", 1), ("slower", 1)], "both started (in either order), not after"
    assert all(record.cancelled for record in runner.calls)


async def test_cancelling_the_task_propagates_cancelled_error() -> None:
    runner = FakeRunner(script={"first": [Fail("x"), {"ok": 1}]}, delays={"second": 10})
    document = {"steps": [step("first", retry={"attempts": 2, "backoff_seconds": 0}), step("second"), step("third")]}

    task = asyncio.ensure_future(run(runner, document))
    with anyio.fail_after(5):
        while not any(record.step_id == "second" for record in runner.calls):
            await asyncio.sleep(0.01)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert runner.called() == [("first", 1), ("first", 2), ("second", 1)]
    assert runner.calls[-1].cancelled
