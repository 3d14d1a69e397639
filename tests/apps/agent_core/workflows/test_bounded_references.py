"""References are bounded: refused before a run when their growth cannot be bounded, stopped during one when
their input makes them heavy, and evaluated off the event loop so nothing else waits for them."""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio
import pytest

from apps.agent_core.model import ToolCall, ToolOutcome, ToolSpec
from apps.agent_core.workflows.bounds import MAX_GROWTH, EvaluationLimits, growth
from apps.agent_core.workflows.document import parse_workflow
from apps.agent_core.workflows.engine import run_workflow
from apps.agent_core.workflows.evaluation import EvaluationStopped, off_loop
from apps.agent_core.workflows.references import (
    ExpressionError,
    ReferenceScope,
    compile_expression,
    evaluate,
    reference_problems,
    resolve,
)
from apps.agent_core.workflows.validation import validate_workflow
from tests.support.hostile_inputs import doubling_reference, wide_reference
from tests.support.loop_stalls import LoopStallMonitor, StallReport

MAX_WORK = EvaluationLimits().max_work
SCOPE = ReferenceScope(finished=frozenset({"q"}), inputs=frozenset({"rows"}))
WIDE = {"steps": {}, "inputs": {"rows": [0] * 30_000}}


def factor(expression: str) -> int:
    return growth(dict(compile_expression(expression).parsed))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("steps.q.result.rows[0].name", 1),
        ("steps.q.result.rows[*].name", 1),
        ("steps.q.result.rows[].{name: name, total: total, id: id}", 3),
        ("length(steps.q.result.rows)", 1),
        ("[steps.q.result.a, steps.q.result.b]", 2),
        ("steps.q.result.rows[?total > `3`].name", 3),  # per row: the comparison reads two values, the projection one
        ("sort_by(steps.q.result.rows, &total)[0]", 1),
        (doubling_reference(1), 2),
        (doubling_reference(6), 64),
        (doubling_reference(23), 2**23),
        ("@ | [@,@] | [@,@] | [@,@]", 8),  # pipes of multi-selects: a small value that is huge to serialise
        (wide_reference(), 64),
    ],
)
def test_growth_is_read_from_the_parsed_expression(expression: str, expected: int) -> None:
    assert factor(expression) == expected


def test_the_doubling_reference_is_refused_naming_the_step_the_argument_and_the_limit(
    catalog: list[ToolSpec],
) -> None:
    workflow = parse_workflow(
        {
            "name": "poison",
            "steps": [
                {"id": "q", "tool": "database.execute_query", "arguments": {"sql": "SELECT 1"}},
                {
                    "id": "store",
                    "tool": "custom.store_data",
                    "arguments": {"key": "n", "value": "{{ " + doubling_reference(23) + " }}"},
                },
            ],
        }
    )
    problems = validate_workflow(workflow, catalog)
    assert len(problems) == 1, problems
    assert problems[0].startswith('steps[1] (id "store"): arguments.value: '), problems
    assert "up to 8,388,608 times" in problems[0] and f"the limit is {MAX_GROWTH}" in problems[0]


def test_conditions_and_text_are_checked_too() -> None:
    assert reference_problems(doubling_reference(7), SCOPE)  # a `when` goes through the same check
    assert not reference_problems(doubling_reference(6), SCOPE)
    # Deeply nested but harmless: a long path multiplies nothing.
    assert not reference_problems("steps.q.result" + ".a" * 500, SCOPE)


def test_a_reference_heavy_only_because_of_its_input_is_stopped_by_the_work_bound() -> None:
    assert not reference_problems(wide_reference(), SCOPE)  # it passes the static check
    started = time.monotonic()
    with pytest.raises(ExpressionError, match=rf"needs more than {MAX_WORK:,} units of work \(the bound on one step\)"):
        evaluate(wide_reference(), WIDE)
    print(f"stopped after {time.monotonic() - started:.2f} s")
    # The same reference over a narrow input is fine: the bound is on work done, not on the expression.
    assert evaluate(wide_reference(), {"inputs": {"rows": [0] * 10}}) == 640


def test_output_is_measured_before_it_is_used_even_when_it_is_all_shared_references() -> None:
    rows = [{"name": f"row-{n}", "total": n} for n in range(100)]
    # 2**40 copies of the rows once serialised, a few dozen lists in memory: measured, not serialised.
    exploding = "{{ steps.q.result.rows" + " | [@,@]" * 40 + " }}"
    with pytest.raises(ExpressionError, match=r"^arguments\.value: .* resolves to more than 262,144 bytes"):
        resolve({"value": exploding}, {"steps": {"q": {"result": {"rows": rows}}}}, where="arguments")
    # Many small templates in one text add up against the same bound.
    many = "{{ steps.q.result.rows }}" * 200
    with pytest.raises(ExpressionError, match="resolves to more than"):
        resolve({"text": many}, {"steps": {"q": {"result": {"rows": rows}}}}, where="arguments")


def test_equality_and_functions_are_charged_for_what_they_walk() -> None:
    doubled = "(inputs.rows" + " | [@,@]" * 30 + ")"
    with pytest.raises(ExpressionError, match="units of work"):
        evaluate(f"{doubled} == {doubled}", {"inputs": {"rows": [1, 2, 3]}})
    with pytest.raises(ExpressionError, match="units of work"):
        evaluate(f"to_string({doubled})", {"inputs": {"rows": [1, 2, 3]}})


def test_a_type_error_does_not_print_a_huge_value() -> None:
    with pytest.raises(ExpressionError) as raised:
        evaluate("abs(inputs.rows)", {"inputs": {"rows": list(range(100_000))}})
    message = str(raised.value)
    assert "abs() got a array, expected one of: number" in message and len(message) < 300


@pytest.mark.anyio
async def test_cancelling_an_evaluation_stops_its_thread() -> None:
    stopped = threading.Event()

    def endless(evaluation: Any) -> None:
        try:
            while True:
                evaluation.spend(1)
        except EvaluationStopped:
            stopped.set()
            raise

    with anyio.move_on_after(0.1):
        await off_loop(endless, EvaluationLimits(max_work=10**15))
    # A thread cannot be killed: the budget's stop flag ends it at its next unit of work.
    assert await anyio.to_thread.run_sync(stopped.wait, 10)


@pytest.mark.anyio
async def test_a_heavy_step_fails_the_workflow_without_holding_the_event_loop() -> None:
    called: list[str] = []

    async def run_step(step_id: str, call: ToolCall, attempt: int, timeout: float | None) -> ToolOutcome:
        called.append(step_id)
        return ToolOutcome(call_id=call.id, ok=True, result={"echo": call.arguments})

    async def skip_step(step_id: str, reason: str) -> None:
        raise AssertionError("nothing is skipped here")

    workflow = parse_workflow(
        {
            "name": "wide",
            "inputs": {"rows": []},
            "steps": [{"id": "count", "tool": "lab.echo", "arguments": {"text": "{{ " + wide_reference() + " }}"}}],
        }
    )

    async def once() -> tuple[StallReport, Any]:
        async with LoopStallMonitor() as monitor:
            result = await run_workflow(
                workflow, run_step=run_step, skip_step=skip_step, analyze=None, inputs={"rows": WIDE["inputs"]["rows"]}
            )
        return monitor.report(), result

    reports = []
    for _ in range(3):  # a loaded machine may delay one measurement; a loop held by the step delays every one
        report, result = await once()
        reports.append(report)
        assert result.status == "failed" and called == []
        assert result.error is not None and result.error.startswith(
            'step "count" failed: could not resolve the step: arguments.text: '
        )
        assert f"needs more than {MAX_WORK:,} units of work" in result.error
        if report.max_ms <= 100:
            break
    print("event loop lag while the step was evaluated:", "; ".join(map(str, reports)))
    assert min(report.max_ms for report in reports) <= 100, reports
