"""Parsing workflow documents: JSON, YAML and dicts in; every shape problem out, with its location."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.agent_core.workflows.document import (
    MAX_DOCUMENT_BYTES,
    Fallback,
    ParallelGroup,
    Step,
    ToolRef,
    WorkflowParseError,
    parse_workflow,
    placed_steps,
)

EXAMPLE: dict[str, Any] = {
    "name": "s3_report",
    "description": "List buckets and store the first name.",
    "inputs": {"prefix": None},
    "steps": [
        {
            "id": "buckets",
            "tool": "aws.list_s3_buckets",
            "arguments": {"prefix": "{{ inputs.prefix }}"},
            "retry": {"attempts": 3, "backoff_seconds": 0.5},
            "timeout_seconds": 30,
        },
        {
            "parallel": [
                {"id": "first", "tool": {"server": "custom", "name": "store_data"}, "on_error": "continue"},
                {
                    "id": "count",
                    "tool": "custom.store_data",
                    "on_error": {"fallback": {"id": "count_fallback", "tool": "custom.get_data"}},
                },
            ]
        },
    ],
    "analyze": {"instruction": "Summarise."},
}

YAML_EXAMPLE = """
name: s3_report
description: List buckets and store the first name.
inputs:
  prefix: null
steps:
  - id: buckets
    tool: aws.list_s3_buckets
    arguments:
      prefix: "{{ inputs.prefix }}"
    retry: {attempts: 3, backoff_seconds: 0.5}
    timeout_seconds: 30
  - parallel:
      - id: first
        tool: {server: custom, name: store_data}
        on_error: continue
      - id: count
        tool: custom.store_data
        on_error:
          fallback: {id: count_fallback, tool: custom.get_data}
analyze:
  instruction: Summarise.
"""


def problems_of(data: dict[str, Any] | str) -> list[str]:
    with pytest.raises(WorkflowParseError) as caught:
        parse_workflow(data)
    return caught.value.problems


def test_dict_json_and_yaml_parse_to_the_same_document() -> None:
    from_dict = parse_workflow(EXAMPLE)

    assert parse_workflow(json.dumps(EXAMPLE)) == from_dict
    assert parse_workflow(YAML_EXAMPLE) == from_dict
    first = from_dict.steps[0]
    assert isinstance(first, Step)
    assert first.tool == ToolRef(server="aws", name="list_s3_buckets")
    assert first.retry is not None and first.retry.attempts == 3
    assert first.on_error == "fail"
    group = from_dict.steps[1]
    assert isinstance(group, ParallelGroup)
    assert [step.id for step in group.parallel] == ["first", "count"]
    assert isinstance(group.parallel[1].on_error, Fallback)
    assert group.parallel[1].fallback is not None and group.parallel[1].fallback.id == "count_fallback"


def test_placed_steps_say_where_each_step_is_and_what_runs_with_it() -> None:
    placed = list(placed_steps(parse_workflow(EXAMPLE)))

    assert [p.describe() for p in placed] == [
        'steps[0] (id "buckets")',
        'steps[1].parallel[0] (id "first")',
        'steps[1].parallel[1] (id "count")',
        'steps[1].parallel[1].on_error.fallback (id "count_fallback")',
    ]
    assert [p.index for p in placed] == [0, 1, 1, 1]
    assert placed[1].group == ("first", "count")
    assert placed[3].parent is not None and placed[3].parent.id == "count"


def test_every_shape_problem_is_listed_with_its_location() -> None:
    problems = problems_of(
        {
            "name": "Bad Name",
            "steps": [
                {"id": "a", "tool": "no_dot", "retry": {"attempts": "3"}},
                {"parallel": [{"id": "B", "tool": "a.b", "colour": "red"}]},
                {"id": "c", "tool": "a.b", "on_error": "explode"},
                {"id": "d", "tool": "a.b", "on_error": {"fallback": {"tool": "a.b"}}},
                {"id": "e", "tool": "a.b", "timeout_seconds": True},
            ],
        }
    )

    assert problems == [
        "name: 'Bad Name' is not a valid name: a lowercase letter, then up to 63 of a-z, 0-9 and _",
        "steps[0].tool: tool must be 'server.name' or {server, name}, got 'no_dot'",
        "steps[0].retry.attempts: Input should be a valid integer",
        "steps[1].parallel[0].id: 'B' is not a valid name: a lowercase letter, then up to 63 of a-z, 0-9 and _",
        "steps[1].parallel[0].colour: Extra inputs are not permitted",
        "steps[2].on_error: Input should be 'fail' or 'continue'",
        "steps[3].on_error.fallback.id: Field required",
        "steps[4].timeout_seconds: Input should be a valid number",
    ]


def test_a_workflow_needs_steps_and_at_most_fifty_in_all() -> None:
    assert problems_of({"name": "empty", "steps": []}) == [
        "steps: List should have at least 1 item after validation, not 0"
    ]
    step = {"id": "s", "tool": "a.b"}
    groups = [{"parallel": [{**step, "id": f"s{g}_{m}"} for m in range(10)]} for g in range(6)]
    assert problems_of({"name": "big", "steps": groups}) == [
        "the workflow has 60 steps (parallel members and fallbacks included); at most 50"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"name": "x",}', "not valid JSON: Expecting property name enclosed in double quotes"),
        ("name: [", "not valid JSON or YAML: while parsing a flow node"),
        ("- just\n- a list", "a workflow is a mapping with name and steps, got list"),
        ("a: &x [1, 2]\nb: *x", "YAML anchors and aliases are not accepted"),
        ("name: x\nsteps: [{id: a, tool: a.b, arguments: {day: 2024-01-01}}]", "must hold only JSON values"),
        ("name: x\nsteps: [{id: a, tool: a.b, arguments: {n: .nan}}]", "must hold only JSON values"),
    ],
)
def test_text_that_is_not_a_workflow(text: str, expected: str) -> None:
    problems = problems_of(text)

    assert len(problems) == 1
    assert problems[0].startswith(expected) or expected in problems[0]


def test_documents_are_bounded_in_depth() -> None:
    step: dict[str, Any] = {"id": "a", "tool": "a.b"}
    for _ in range(3000):
        step = {"id": "a", "tool": "a.b", "on_error": {"fallback": step}}
    deep = {"name": "deep", "steps": [step]}

    assert problems_of(deep) == ["the document is nested more than 64 levels deep"]
    text = '{"id": "a", "tool": "a.b"}'
    for _ in range(3000):
        text = '{"id": "a", "tool": "a.b", "on_error": {"fallback": ' + text + "}}"
    assert problems_of('{"name": "deep", "steps": [' + text + "]}") == [
        "the document is nested more than 64 levels deep"
    ]
    assert problems_of("a: " + "[" * 5000 + "]" * 5000) == ["the document is nested more than 64 levels deep"]


def test_documents_are_bounded_in_size() -> None:
    huge = {"name": "huge", "steps": [{"id": "a", "tool": "a.b", "arguments": {"text": "x" * MAX_DOCUMENT_BYTES}}]}

    assert "at most" in problems_of(huge)[0]
    assert "over" in problems_of(json.dumps(huge))[0]
