"""The offline planner against its corpus: plain-language tasks over the real catalog and the sample database.

``tests/fixtures/planner_tasks.yaml`` lists each task with the calls it should produce. The planner
sees the four servers' tools exactly as they publish them (the ``catalog`` fixture) and the sample
shop database's schema exactly as ``get_schema`` returns it (read by the database server's own
engine), never a copy written for it. Every SQL statement it writes is then run, read-only, on the
sample database, to prove it is valid SQLite and answers with rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.agent_core.model import ToolSpec
from apps.agent_core.reasoning.planner import Plan, Schema, parse_schema, plan_task
from apps.mcp_database.sample_data import build_sample_database
from apps.mcp_database.sandbox import ReadOnlyDatabase

CORPUS = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "planner_tasks.yaml"
PASS_RATE = 0.90


@dataclass(frozen=True)
class CorpusTask:
    task: str
    calls: list[tuple[str, dict[str, Any]]]
    required: bool


def load_corpus() -> list[CorpusTask]:
    document = yaml.safe_load(CORPUS.read_text())
    return [
        CorpusTask(
            task=entry["task"],
            calls=[(call["tool"], call["arguments"]) for call in entry["calls"]],
            required=bool(entry.get("required", False)),
        )
        for entry in document["tasks"]
    ]


def calls_of(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{step.spec.server}.{step.spec.name}", step.arguments) for step in plan.steps]


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("planner") / "sample.db"
    build_sample_database(path)
    return path


@pytest.fixture(scope="module")
def schema(sample_db: Path) -> Schema:
    parsed = parse_schema(ReadOnlyDatabase(sample_db).schema().model_dump(mode="json"))
    assert parsed is not None
    return parsed


@pytest.fixture(scope="module")
def read_only(sample_db: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(f"file:{sample_db}?mode=ro", uri=True)) as conn:
        yield conn


def test_the_corpus_is_large_and_covers_every_server() -> None:
    corpus = load_corpus()
    assert len(corpus) >= 40
    servers = {tool.split(".")[0] for task in corpus for tool, _ in task.calls}
    assert servers == {"aws", "database", "custom", "kubernetes"}
    assert len([task for task in corpus if task.required]) == 5


def test_at_least_90_percent_of_the_corpus_plans_as_expected(catalog: list[ToolSpec], schema: Schema) -> None:
    corpus = load_corpus()
    failures = []
    for entry in corpus:
        got = calls_of(plan_task(entry.task, catalog, {"database": schema}))
        if got != entry.calls:
            failures.append(f"{entry.task!r}: expected {entry.calls}, planned {got}")
    rate = 1 - len(failures) / len(corpus)
    assert rate >= PASS_RATE, f"{rate:.0%} passed; failures:\n" + "\n".join(failures)


@pytest.mark.parametrize("entry", [t for t in load_corpus() if t.required], ids=lambda t: t.task)
def test_the_five_tasks_of_the_issue(entry: CorpusTask, catalog: list[ToolSpec], schema: Schema) -> None:
    assert calls_of(plan_task(entry.task, catalog, {"database": schema})) == entry.calls


@pytest.mark.parametrize(
    "entry",
    [t for t in load_corpus() if any(tool == "database.execute_query" for tool, _ in t.calls)],
    ids=lambda t: t.task,
)
def test_written_sql_runs_on_the_sample_database(
    entry: CorpusTask, catalog: list[ToolSpec], schema: Schema, read_only: sqlite3.Connection
) -> None:
    plan = plan_task(entry.task, catalog, {"database": schema})
    queries = [step.arguments for step in plan.steps if step.spec.name == "execute_query"]
    assert queries, f"no query planned for {entry.task!r}"
    for arguments in queries:
        rows = read_only.execute(arguments["sql"], arguments.get("params") or []).fetchall()
        assert rows, f"{arguments['sql']!r} returned no rows"
        assert all(value is not None for value in rows[0]) or "LIMIT" in arguments["sql"]


@pytest.mark.parametrize(
    "entry",
    [t for t in load_corpus() if any(tool == "database.execute_query" for tool, _ in t.calls)],
    ids=lambda t: t.task,
)
def test_a_data_question_reads_the_schema_first_when_it_has_not_seen_it(
    entry: CorpusTask, catalog: list[ToolSpec]
) -> None:
    plan = plan_task(entry.task, catalog, {})
    written_in_task = "SELECT" in entry.task
    if written_in_task:
        assert plan.schema_needed is None
    else:
        assert plan.schema_needed is not None and plan.schema_needed.name == "get_schema"
        assert plan.steps == ()
