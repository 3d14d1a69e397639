"""Templates and conditions: typed values, interpolated text, truthiness, and what an expression reads."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agent_core.workflows.references import (
    ExpressionError,
    ReferenceScope,
    contains_template,
    reference_problems,
    resolve,
    root_paths,
    template_problems,
    when_holds,
)

CONTEXT: dict[str, Any] = {
    "steps": {
        "buckets": {
            "result": {"buckets": [{"name": "logs", "size": 3}, {"name": "data", "size": 0}], "truncated": False},
            "status": "succeeded",
            "error": None,
        },
        "broken": {"result": None, "status": "failed", "error": "AccessDenied"},
    },
    "inputs": {"location": "London", "limit": 5},
}


def test_a_whole_template_keeps_the_type_of_its_value() -> None:
    resolved = resolve(
        {
            "name": "{{ steps.buckets.result.buckets[0].name }}",
            "names": "{{ steps.buckets.result.buckets[*].name }}",
            "limit": "{{ inputs.limit }}",
            "truncated": "{{steps.buckets.result.truncated}}",
            "whole": "{{ steps.buckets.result }}",
            "missing": "{{ steps.buckets.result.nothing }}",
            "nested": [{"n": "{{ length(steps.buckets.result.buckets) }}"}, 7, None],
            "literal": 3.5,
        },
        CONTEXT,
    )

    assert resolved == {
        "name": "logs",
        "names": ["logs", "data"],
        "limit": 5,
        "truncated": False,
        "whole": CONTEXT["steps"]["buckets"]["result"],
        "missing": None,
        "nested": [{"n": 2}, 7, None],
        "literal": 3.5,
    }


def test_templates_among_text_are_interpolated_as_text() -> None:
    text = resolve(
        "weather/{{ inputs.location }}: {{ inputs.limit }} of {{ steps.buckets.result.buckets[*].name }}"
        " truncated={{ steps.buckets.result.truncated }} missing=[{{ steps.nope }}]",
        CONTEXT,
    )

    assert text == 'weather/London: 5 of ["logs","data"] truncated=false missing=[]'


def test_expressions_that_fail_on_the_data_raise_expression_error() -> None:
    with pytest.raises(ExpressionError, match=r"length\(\)"):
        resolve({"n": "{{ length(steps.broken.result) }}"}, CONTEXT)


@pytest.mark.parametrize(
    ("when", "holds"),
    [
        ("steps.buckets.status == 'succeeded'", True),
        ("steps.broken.status == 'succeeded'", False),
        ("length(steps.buckets.result.buckets) > `1`", True),
        ("steps.buckets.result.buckets[?size > `10`]", False),  # an empty list is false
        ("steps.buckets.result.buckets[1].size", True),  # JMESPath: 0 is true
        ("steps.buckets.result.truncated", False),
        ("steps.broken.result", False),
        ("{{ inputs.location }}", True),  # braces around a condition are tolerated
    ],
)
def test_when_uses_jmespath_truthiness(when: str, holds: bool) -> None:
    assert when_holds(when, CONTEXT) is holds


def test_root_paths_follow_only_what_reads_the_root() -> None:
    assert root_paths("steps.buckets.result.buckets[0].name") == [("steps", "buckets", "result", "buckets")]
    assert root_paths("steps.pods.result.pods[?status != 'Running'] | [0].name") == [
        ("steps", "pods", "result", "pods")
    ]
    assert root_paths("length(steps.a.result) > `0` && inputs.x") == [("steps", "a", "result"), ("inputs", "x")]
    assert root_paths("{first: steps.a.result, limit: [inputs.n]}") == [("steps", "a", "result"), ("inputs", "n")]
    assert root_paths("sort_by(steps.a.result.items, &name)") == [("steps", "a", "result", "items")]
    assert root_paths("@.steps.b.error") == [("steps", "b", "error")]


def test_contains_template_looks_inside_lists_and_objects() -> None:
    assert contains_template({"a": [1, {"b": "x {{ inputs.y }}"}]})
    assert not contains_template({"a": [1, {"b": "plain"}], "c": None})


SCOPE = ReferenceScope(
    finished=frozenset({"buckets"}),
    concurrent=frozenset({"sibling"}),
    later=frozenset({"after"}),
    this="me",
    inputs=frozenset({"location"}),
    result_fields={"buckets": frozenset({"buckets", "truncated"})},
)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("steps.buckets.result.buckets[0]", None),
        ("steps.nothing.result", 'step "nothing" does not exist'),
        ("steps.after.result", 'step "after" runs after this one'),
        ("steps.me.result", 'step "me" references itself'),
        ("steps.sibling.result", 'step "sibling" runs at the same time, in the same parallel group'),
        ("steps.buckets.output", 'steps.buckets has result, status, error, not "output"'),
        ("steps.buckets.result.bucket", 'the result of step "buckets" has no field "bucket"; it has: buckets'),
        ("inputs.place", 'input "place" is not declared in inputs (declared: location)'),
        ("results.buckets", '"results" is not in the context: start with steps.<id> or inputs.<name>'),
        ("steps.buckets.[", "invalid JMESPath 'steps.buckets.['"),
        ("shout(inputs.location)", "unknown function shout()"),
        ("length(inputs.location, `1`)", "length() takes 1 argument, got 2"),
    ],
)
def test_reference_problems(expression: str, problem: str | None) -> None:
    problems = reference_problems(expression, SCOPE)

    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problems[0].startswith(problem)


def test_deeply_nested_expressions_are_a_problem_not_a_crash() -> None:
    problems = reference_problems("(" * 3000 + "inputs.location" + ")" * 3000, SCOPE)

    assert len(problems) == 1
    assert problems[0].startswith("invalid JMESPath '((((")
    assert problems[0].endswith("…': nested too deeply")


def test_template_problems_name_the_argument_and_catch_unclosed_braces() -> None:
    problems = template_problems(
        {"sql": "SELECT {{ steps.after.result }}", "params": ["{{ inputs.location", "{{ steps.buckets.error }}"]},
        SCOPE,
        "arguments",
    )

    assert problems == [
        'arguments.sql: step "after" runs after this one',
        "arguments.params[0]: '{{' without a matching '}}'",
    ]
