"""The offline reasoner running multi-step plans: turns, references between steps, the schema read once.

The database tools are answered by the database server's own engine on the sample database; other
tools by scripted results (``helpers.Executor``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.agent_core.model import ToolCall, ToolOutcome, ToolSpec
from apps.agent_core.reasoning.base import Budget
from apps.agent_core.reasoning.offline import OfflineReasoner
from apps.mcp_database.sample_data import build_sample_database
from apps.mcp_database.sandbox import ReadOnlyDatabase
from tests.apps.agent_core.reasoning.helpers import Executor, TurnLog, failing, ok

pytestmark = pytest.mark.anyio

WEATHER = {
    "location": {"area": "Paris", "country": "France"},
    "current": {"temp_c": 18.0, "condition": "Partly cloudy"},
    "days": [{"date": "2025-06-01"}],
    "source": "wttr.in",
}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> ReadOnlyDatabase:
    path = tmp_path_factory.mktemp("steps") / "sample.db"
    build_sample_database(path)
    return ReadOnlyDatabase(Path(path))


def database_handlers(database: ReadOnlyDatabase) -> dict[str, Any]:
    def schema(call: ToolCall) -> ToolOutcome:
        return ToolOutcome(call_id=call.id, ok=True, result=database.schema().model_dump(mode="json"))

    def query(call: ToolCall) -> ToolOutcome:
        result = database.query(call.arguments["sql"], call.arguments.get("params"))
        return ToolOutcome(call_id=call.id, ok=True, result=result.model_dump(mode="json"))

    return {"get_schema": schema, "execute_query": query}


async def test_a_result_is_passed_to_the_next_step(catalog: list[ToolSpec]) -> None:
    turns = TurnLog()
    executor = Executor(handlers={"get_weather": ok(WEATHER)}, recorder=turns)

    result = await OfflineReasoner().run(
        "What is the weather in Paris? Save it under the key paris", catalog, executor, turns, Budget()
    )

    assert [[(c.tool, c.arguments) for c in batch] for batch in executor.batches] == [
        [("get_weather", {"location": "Paris"})],
        [("store_data", {"key": "paris", "value": WEATHER})],
    ]
    # The plan shows the reference; the second turn carries the resolved value, recorded before it ran.
    assert "{{ steps.get_weather.result }}" in turns.turns[0].text
    assert turns.turns[1].tool_calls == executor.batches[1]
    assert executor.turns_seen == [1, 2]
    assert [t.stop_reason for t in turns.turns] == ["tool_use", "tool_use", "end_turn"]
    assert result.turns == 3
    assert 'custom.store_data(key="paris"' in result.final_answer
    assert result.stop_reason == "end_turn" and result.unanswered is None


async def test_a_step_whose_input_failed_is_not_run(catalog: list[ToolSpec]) -> None:
    executor = Executor(handlers={"get_weather": failing("weather service unreachable")})

    result = await OfflineReasoner().run(
        "What is the weather in Paris? Save it under the key paris", catalog, executor, TurnLog(), Budget()
    )

    assert [c.tool for c in executor.calls] == ["get_weather"]
    assert 'custom.get_weather(location="Paris") failed: weather service unreachable' in result.final_answer
    assert "was not run, because get_weather did not succeed" in result.final_answer
    assert result.unanswered is None, "a call ran; its failure is the run's to judge"


async def test_independent_steps_run_together(catalog: list[ToolSpec]) -> None:
    executor = Executor()

    await OfflineReasoner().run(
        "Show me the Glue jobs and start the nightly-etl job", catalog, executor, TurnLog(), Budget()
    )

    assert [[c.tool for c in batch] for batch in executor.batches] == [["list_glue_jobs", "start_glue_job"]]


async def test_a_data_question_reads_the_schema_once_and_shows_its_sql(
    catalog: list[ToolSpec], database: ReadOnlyDatabase
) -> None:
    reasoner = OfflineReasoner()
    turns = TurnLog()
    executor = Executor(handlers=database_handlers(database), recorder=turns)

    result = await reasoner.run("How many orders per status?", catalog, executor, turns, Budget())

    assert [[c.tool for c in batch] for batch in executor.batches] == [["get_schema"], ["execute_query"]]
    sql = "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY n DESC"
    assert executor.batches[1][0].arguments == {"sql": sql}
    assert f'database.execute_query(sql="{sql}")' in result.final_answer
    assert "SQL written from the schema" in result.final_answer
    expected = database.query(sql).rows[0]
    assert f"status={expected[0]}, n={expected[1]}" in result.final_answer

    again = Executor(handlers=database_handlers(database))
    await reasoner.run("Which 5 customers spent the most?", catalog, again, TurnLog(), Budget())
    assert [c.tool for c in again.calls] == ["execute_query"]  # the schema was kept


async def test_a_failed_schema_read_is_said_and_tried_again(
    catalog: list[ToolSpec], database: ReadOnlyDatabase
) -> None:
    reasoner = OfflineReasoner()
    broken = Executor(handlers={"get_schema": failing("database server unreachable")})

    result = await reasoner.run("How many orders per status?", catalog, broken, TurnLog(), Budget())

    assert "no SQL was written: database server unreachable" in result.final_answer
    assert "AGENTIC_BEDROCK_MODEL_ID=" in result.final_answer
    working = Executor(handlers=database_handlers(database))
    await reasoner.run("How many orders per status?", catalog, working, TurnLog(), Budget())
    assert [c.tool for c in working.calls] == ["get_schema", "execute_query"]


async def test_the_same_task_gives_the_same_call_ids(catalog: list[ToolSpec]) -> None:
    first, second = Executor(handlers={"get_weather": ok(WEATHER)}), Executor(handlers={"get_weather": ok(WEATHER)})
    task = "What is the weather in Paris? Save it under the key paris"
    await OfflineReasoner().run(task, catalog, first, TurnLog(), Budget())
    await OfflineReasoner().run(task, catalog, second, TurnLog(), Budget())
    assert [c.id for c in first.calls] == [c.id for c in second.calls]
    assert len({c.id for c in first.calls}) == 2


async def test_the_budget_stops_between_steps(catalog: list[ToolSpec]) -> None:
    executor = Executor(handlers={"get_weather": ok(WEATHER)})

    result = await OfflineReasoner().run(
        "What is the weather in Paris? Save it under the key paris", catalog, executor, TurnLog(), Budget(max_turns=2)
    )

    assert [c.tool for c in executor.calls] == ["get_weather"]
    assert "budget ended before every planned call ran" in result.final_answer
    assert result.stop_reason == "max_turns" and result.unanswered is None


async def test_what_it_cannot_plan_names_the_variables_that_configure_a_model(catalog: list[ToolSpec]) -> None:
    result = await OfflineReasoner().run("tell me a joke about penguins", catalog, Executor(), TurnLog(), Budget())

    assert "AGENTIC_BEDROCK_MODEL_ID=" in result.final_answer
    assert "AGENTIC_OPENAI_BASE_URL=" in result.final_answer and "AGENTIC_OPENAI_MODEL=" in result.final_answer
    assert "AGENTIC_REASONER to" not in result.final_answer
    assert result.unanswered == "no tool matches this task"
