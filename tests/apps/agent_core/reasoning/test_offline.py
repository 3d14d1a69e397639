"""The offline planner against the real catalog of the four servers: which calls, which arguments, what it says."""

from __future__ import annotations

import random
from typing import Any

import pytest

from apps.agent_core.model import ToolSpec
from apps.agent_core.reasoning.base import Budget
from apps.agent_core.reasoning.offline import OFFLINE_NOTICE, OfflineReasoner, describe_value
from tests.apps.agent_core.reasoning.helpers import Executor, TurnLog, failing, ok

pytestmark = pytest.mark.anyio


def planned(task: str, catalog: list[ToolSpec]) -> list[tuple[str, str, dict[str, Any]]]:
    plan = OfflineReasoner().plan(task, catalog)
    return [(step.spec.server, step.spec.name, step.arguments) for step in plan.steps]


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("List my S3 buckets", [("aws", "list_s3_buckets", {})]),
        ("What's the weather in Paris?", [("custom", "get_weather", {"location": "Paris"})]),
        ("weather for São Paulo, Brazil today", [("custom", "get_weather", {"location": "São Paulo, Brazil"})]),
        ("store 'x' under key y", [("custom", "store_data", {"key": "y", "value": "x"})]),
        (
            "How many customers are there? Run 'SELECT count(*) AS n FROM customers'",
            [("database", "execute_query", {"sql": "SELECT count(*) AS n FROM customers"})],
        ),
        (
            "scale deployment web in namespace shop to 3",
            [("kubernetes", "scale_deployment", {"namespace": "shop", "name": "web", "replicas": 3})],
        ),
        (
            "Scale the web deployment in the shop namespace to 2 replicas, dry run",
            [("kubernetes", "scale_deployment", {"namespace": "shop", "name": "web", "replicas": 2, "dry_run": True})],
        ),
        ("list 5 pods in the shop namespace", [("kubernetes", "list_pods", {"namespace": "shop", "limit": 5})]),
        (
            "why is pod web-1 crashing in namespace shop?",
            [("kubernetes", "troubleshoot_pod", {"namespace": "shop", "name": "web-1"})],
        ),
        (
            "start glue job nightly-etl with 5 G.2X workers",
            [
                (
                    "aws",
                    "start_glue_job",
                    {"job_name": "nightly-etl", "worker_type": "G.2X", "number_of_workers": 5},
                )
            ],
        ),
        ("is the cluster healthy?", [("kubernetes", "get_cluster_status", {})]),
        (
            "what's the weather in Paris and list my S3 buckets",
            [("custom", "get_weather", {"location": "Paris"}), ("aws", "list_s3_buckets", {})],
        ),
    ],
)
def test_plans(catalog: list[ToolSpec], task: str, expected: list[tuple[str, str, dict[str, Any]]]) -> None:
    assert planned(task, catalog) == expected


@pytest.mark.parametrize(
    "task",
    [
        "how many replicas does deployment web have in namespace shop?",
        "set web to 3 copies in namespace shop",
        "run the glue job nightly",
    ],
)
def test_tools_that_change_things_need_their_action_named(catalog: list[ToolSpec], task: str) -> None:
    tools = [tool for _, tool, _ in planned(task, catalog)]
    assert "scale_deployment" not in tools
    assert "start_glue_job" not in tools


async def test_listing_buckets_end_to_end(catalog: list[ToolSpec]) -> None:
    turns = TurnLog()
    buckets = [{"name": f"bucket-{n}", "creation_date": "2024-01-01T00:00:00Z"} for n in range(7)]
    executor = Executor(handlers={"list_s3_buckets": ok({"buckets": buckets, "truncated": False})}, recorder=turns)

    result = await OfflineReasoner().run("list S3 buckets", catalog, executor, turns, Budget())

    assert [(c.server, c.tool) for c in executor.calls] == [("aws", "list_s3_buckets")]
    assert result.stop_reason == "end_turn" and result.unanswered is None
    assert result.turns == 2
    assert result.usage.input_tokens == result.usage.output_tokens == 0
    assert result.final_answer.startswith(OFFLINE_NOTICE)
    assert "no language model" in result.final_answer
    assert "buckets: 7 (bucket-0, bucket-1, bucket-2, bucket-3, bucket-4, … (2 more))" in result.final_answer
    assert "truncated: false" in result.final_answer
    # One planning turn (recorded before the tools ran) and one summary turn, both without a model.
    assert executor.turns_seen == [1]
    assert [(t.index, t.model, t.stop_reason) for t in turns.turns] == [(1, None, "tool_use"), (2, None, "end_turn")]
    assert turns.turns[0].tool_calls == executor.calls
    assert turns.turns[1].text == result.final_answer


async def test_failures_and_structured_results_are_summarized(catalog: list[ToolSpec]) -> None:
    weather = {
        "location": {"name": "Paris", "country": "France"},
        "current": {"temp_c": 18.0, "condition": "Partly cloudy"},
        "days": [{"date": "2025-06-01"}, {"date": "2025-06-02"}],
    }
    executor = Executor(
        handlers={
            "get_weather": ok(weather),
            "list_s3_buckets": failing("Access denied: this server's IAM role is not allowed to perform s3:List."),
        }
    )

    result = await OfflineReasoner().run(
        "what's the weather in Paris and list my S3 buckets", catalog, executor, TurnLog(), Budget()
    )

    answer = result.final_answer
    assert 'custom.get_weather(location="Paris"): days: 2 (2025-06-01, 2025-06-02)' in answer
    assert "current: temp_c=18.0, condition=Partly cloudy" in answer
    assert "aws.list_s3_buckets() failed: Access denied" in answer
    assert result.unanswered is None, "it planned and ran calls; their failures are the run's to judge"


async def test_a_task_matching_nothing_runs_nothing_and_says_so(catalog: list[ToolSpec]) -> None:
    executor, turns = Executor(), TurnLog()

    result = await OfflineReasoner().run("tell me a joke about penguins", catalog, executor, turns, Budget())

    assert executor.batches == []
    assert "No tool matches this task, so nothing was run" in result.final_answer
    assert "aws.list_s3_buckets" in result.final_answer  # what it could have done
    assert [t.stop_reason for t in turns.turns] == ["end_turn", "end_turn"]
    assert turns.turns[0].tool_calls == []
    assert result.unanswered == "no tool matches this task" and result.stop_reason == "end_turn"


async def test_missing_required_arguments_are_named_not_guessed(catalog: list[ToolSpec]) -> None:
    executor = Executor()

    result = await OfflineReasoner().run("what's the weather?", catalog, executor, TurnLog(), Budget())

    assert executor.batches == []
    assert "custom.get_weather was not called: the task does not give location (Place name" in result.final_answer
    assert result.unanswered is not None
    assert result.unanswered.startswith("custom.get_weather was not called: the task does not give location")


async def test_a_refused_write_is_explained(catalog: list[ToolSpec]) -> None:
    result = await OfflineReasoner().run(
        "how many replicas does deployment web have in namespace shop?", catalog, Executor(), TurnLog(), Budget()
    )

    assert "kubernetes.scale_deployment matches the task but was not called" in result.final_answer
    assert "does not ask to scale" in result.final_answer


async def test_a_one_turn_budget_plans_without_running(catalog: list[ToolSpec]) -> None:
    executor = Executor()

    result = await OfflineReasoner().run("list S3 buckets", catalog, executor, TurnLog(), Budget(max_turns=1))

    assert executor.batches == []
    assert "nothing was run" in result.final_answer
    # The budget, not the planner, stopped it: an incomplete answer rather than an unplannable task.
    assert result.stop_reason == "max_turns" and result.unanswered is None


def test_the_same_task_and_tools_give_the_same_calls(catalog: list[ToolSpec]) -> None:
    tasks = [
        "scale deployment web in namespace shop to 3",
        "store 'x' under key y",
        "what's the weather in Paris and list my S3 buckets",
        "list everything",
    ]
    shuffled = list(catalog)
    random.Random(7).shuffle(shuffled)
    for task in tasks:
        first = OfflineReasoner().plan(task, catalog).steps
        assert OfflineReasoner().plan(task, catalog).steps == first
        assert OfflineReasoner().plan(task, shuffled).steps == first


async def test_summarize_is_templated(catalog: list[ToolSpec]) -> None:
    text, usage = await OfflineReasoner().summarize(
        "Which pods are failing?", {"pods": {"pods": [{"name": "web-1"}, {"name": "web-2"}]}, "status": {"ok": True}}
    )

    assert text.startswith("Summary by the offline planner (no language model is configured)")
    assert "Which pods are failing?" in text
    assert "- pods: pods: 2 (web-1, web-2)" in text
    assert "- status: ok: true" in text
    assert usage.input_tokens == usage.output_tokens == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, 2, 3], "items: 3 (1, 2, 3)"),
        ({"rows": [], "truncated": True}, "rows: none; truncated: true"),
        ("plain text", "plain text"),
        (None, "no result"),
        ({}, "an empty result"),
    ],
)
def test_describe_value(value: Any, expected: str) -> None:
    assert describe_value(value) == expected


async def test_summary_of_a_workflow_lists_each_step_result_or_error() -> None:
    from apps.agent_core.reasoning.offline import OfflineReasoner

    data = {
        "workflow": "report",
        "description": "d",
        "steps": {
            "counts": {
                "result": {"columns": ["status", "n"], "rows": [["paid", 3]]},
                "status": "succeeded",
                "error": None,
            },
            "broken": {"result": None, "status": "failed", "error": "database unreachable"},
        },
        "inputs": {},
    }
    text, usage = await OfflineReasoner().summarize("Write a report", data)
    assert "- counts: columns: 2 (status, n); rows: 1" in text
    assert "- broken: failed: database unreachable" in text
    assert usage.input_tokens == 0
