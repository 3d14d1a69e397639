"""Validation against the real tool catalog: every problem at once, each saying where and what."""

from __future__ import annotations

import textwrap
from typing import Any

from apps.agent_core.model import ToolSpec
from apps.agent_core.workflows import document
from apps.agent_core.workflows.document import parse_workflow
from apps.agent_core.workflows.validation import input_problems, validate_workflow


def problems(catalog: list[ToolSpec], document: dict[str, Any]) -> list[str]:
    return validate_workflow(parse_workflow({"name": "test", **document}), catalog)


def test_a_sound_workflow_has_no_problems(catalog: list[ToolSpec]) -> None:
    assert (
        problems(
            catalog,
            {
                "inputs": {"location": "London"},
                "steps": [
                    {"id": "weather", "tool": "custom.get_weather", "arguments": {"location": "{{ inputs.location }}"}},
                    {
                        "parallel": [
                            {
                                "id": "store",
                                "tool": "custom.store_data",
                                "arguments": {"key": "w/{{ inputs.location }}", "value": "{{ steps.weather.result }}"},
                            },
                            {
                                "id": "area",
                                "tool": "custom.store_data",
                                "when": "steps.weather.result.location.area",
                                "arguments": {"key": "area", "value": "{{ steps.weather.result.location.area }}"},
                                "on_error": {
                                    "fallback": {
                                        "id": "area_fallback",
                                        "tool": "custom.store_data",
                                        "arguments": {"key": "area-error", "value": "{{ steps.area.error }}"},
                                    }
                                },
                            },
                        ]
                    },
                    {"id": "read", "tool": "custom.get_data", "arguments": {"key": "{{ steps.store.result.key }}"}},
                ],
                "analyze": {"instruction": "Describe the weather in {{ inputs.location }}."},
            },
        )
        == []
    )


def test_the_example_in_the_format_documentation_is_valid(catalog: list[ToolSpec]) -> None:
    text = document.__doc__ or ""
    start = text.index("::") + 2
    example = textwrap.dedent(text[start : text.index("\n\n- ", start)])

    assert validate_workflow(parse_workflow(example), catalog) == []


def test_every_problem_is_listed_at_once(catalog: list[ToolSpec]) -> None:
    found = problems(
        catalog,
        {
            "steps": [
                {"id": "schema", "tool": "database.get_schema"},
                {"id": "early", "tool": "database.execute_query", "arguments": {"sql": "{{ steps.late.result }}"}},
                {"id": "report", "tool": "database.run_query", "arguments": {"sql": "SELECT 1"}},
                {"id": "pods", "tool": "k8s.list_pods"},
                {
                    "id": "query",
                    "tool": "database.execute_query",
                    "arguments": {"sql": "", "params": "{{ steps.ghost.result }}", "rows": 5},
                    "retry": {"attempts": 0, "backoff_seconds": -1},
                    "timeout_seconds": 0,
                },
                {"id": "troubleshoot", "tool": "kubernetes.troubleshoot_pod", "arguments": {"namespace": "Bad_NS"}},
                {"id": "schema", "tool": "database.get_schema", "arguments": {"table": "orders"}},
                {
                    "id": "late",
                    "tool": "database.execute_query",
                    "arguments": {"sql": "SELECT {{ steps.late.status }}"},
                },
                {"id": "typo", "tool": "database.get_schema", "when": "steps.schema.result.table[0]"},
            ]
        },
    )

    assert found == [
        'steps[6] (id "schema"): duplicate id; steps[0] has it too',
        'steps[1] (id "early"): arguments.sql: step "late" runs after this one',
        'steps[2] (id "report"): unknown tool database.run_query; database has: execute_query, get_schema',
        'steps[3] (id "pods"): unknown server "k8s"; servers: aws, custom, database, kubernetes',
        'steps[4] (id "query"): retry.attempts must be 1 to 10, got 0',
        'steps[4] (id "query"): retry.backoff_seconds must be 0 to 60, got -1',
        'steps[4] (id "query"): timeout_seconds must be more than 0 and at most 3600, got 0',
        'steps[4] (id "query"): arguments.params: step "ghost" does not exist',
        'steps[4] (id "query"): arguments.rows: database.execute_query has no argument "rows"; it takes: sql, params',
        "steps[4] (id \"query\"): arguments.sql: '' should be non-empty",
        "steps[5] (id \"troubleshoot\"): arguments: 'name' is a required property",
        'steps[5] (id "troubleshoot"): arguments.namespace: '
        "'Bad_NS' does not match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
        'steps[7] (id "late"): arguments.sql: step "late" references itself',
        'steps[8] (id "typo"): when: the result of step "schema" has no field "table"; it has: tables',
    ]


def test_parallel_members_cannot_read_each_other_but_fallbacks_read_their_step(catalog: list[ToolSpec]) -> None:
    found = problems(
        catalog,
        {
            "steps": [
                {
                    "parallel": [
                        {"id": "a", "tool": "custom.list_keys"},
                        {
                            "id": "b",
                            "tool": "custom.get_data",
                            "arguments": {"key": "{{ steps.a.result.keys[0] }}"},
                            "on_error": {
                                "fallback": {
                                    "id": "b_fallback",
                                    "tool": "custom.get_data",
                                    "when": "steps.b.error",
                                    "arguments": {"key": "{{ steps.b_fallback.result.key }}"},
                                    "on_error": {"fallback": {"id": "deeper", "tool": "custom.list_keys"}},
                                }
                            },
                        },
                    ]
                },
                {"id": "c", "tool": "custom.get_data", "arguments": {"key": "{{ steps.b.result.key }}"}},
            ]
        },
    )

    assert found == [
        'steps[0].parallel[1] (id "b"): arguments.key: step "a" runs at the same time, in the same parallel group, '
        "so its result is not there yet",
        'steps[0].parallel[1].on_error.fallback (id "b_fallback"): when: a fallback runs when its step fails; '
        "it cannot have a condition",
        'steps[0].parallel[1].on_error.fallback (id "b_fallback"): on_error: a fallback cannot have a fallback of '
        'its own; use "fail" or "continue"',
        'steps[0].parallel[1].on_error.fallback (id "b_fallback"): arguments.key: step "b_fallback" references itself',
    ]


def test_templated_arguments_count_as_present_but_literal_ones_are_checked(catalog: list[ToolSpec]) -> None:
    found = problems(
        catalog,
        {
            "inputs": {"replicas": 3},
            "steps": [
                {
                    "id": "scale",
                    "tool": "kubernetes.scale_deployment",
                    "arguments": {"namespace": "k8s-admin", "name": "web", "replicas": "{{ inputs.replicas }}"},
                },
                {
                    "id": "too_many",
                    "tool": "kubernetes.scale_deployment",
                    "arguments": {"namespace": "k8s-admin", "name": "web", "replicas": 99, "dry_run": "yes"},
                },
            ],
        },
    )

    assert found == [
        "steps[1] (id \"too_many\"): arguments.dry_run: 'yes' is not of type 'boolean'",
        'steps[1] (id "too_many"): arguments.replicas: 99 is greater than the maximum of 10',
    ]


def test_analyze_instruction_references_are_checked(catalog: list[ToolSpec]) -> None:
    found = problems(
        catalog,
        {
            "steps": [{"id": "keys", "tool": "custom.list_keys"}],
            "analyze": {"instruction": "There are {{ length(steps.keys.result.keys) }} keys in {{ inputs.where }}"},
        },
    )

    assert found == ['analyze.instruction: input "where" is not declared in inputs (declared: none)']


def test_inputs_given_at_run_time_must_be_declared() -> None:
    doc = parse_workflow({"name": "w", "inputs": {"location": "London"}, "steps": [{"id": "a", "tool": "a.b"}]})

    assert input_problems(doc, {"location": "Paris"}) == []
    assert input_problems(doc, {"locaton": "Paris"}) == ['unknown input "locaton"; the workflow takes: location']


def test_steps_on_a_server_that_is_down_are_checked_at_run_time_not_refused(catalog: list[ToolSpec]) -> None:
    without_aws = [tool for tool in catalog if tool.server != "aws"]
    doc = parse_workflow(
        {
            "name": "t",
            "steps": [
                {"id": "b", "tool": "aws.list_s3_buckets", "arguments": {}},
                {"id": "x", "tool": "nowhere.tool", "arguments": {}},
            ],
        }
    )
    found = validate_workflow(doc, without_aws, unavailable=["aws"])
    assert len(found) == 1 and 'unknown server "nowhere"' in found[0]
    assert any('unknown server "aws"' in problem for problem in validate_workflow(doc, without_aws))
