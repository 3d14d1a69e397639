"""Offline planner: how many corpus tasks it plans right, and how long one plan takes.

The corpus is ``tests/fixtures/planner_tasks.yaml`` (plain-language tasks over the four servers, with
the calls each should produce); the catalog is built by the servers' own tool code and listed through
the MCP SDK, as the agent core receives it; the schema is the sample database's, read by the database
server's own engine. Each task is planned ``repeats`` times with the schema already read (as it is
after a process's first data question), and every plan is timed.

The goal (issue 17): at most 5 ms per plan at p99 on the default catalog, and at least 90% of the
corpus planned as written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import yaml
from mcp.server import MCPServer

from apps.agent_core.model import ToolSpec
from apps.agent_core.reasoning.planner import Schema, parse_schema, plan_task
from apps.common.mcp_app import sdk_tools
from apps.common.tools import ToolDef
from apps.mcp_aws.tools import build_tools as aws_tools
from apps.mcp_custom.tools import build_tools as custom_tools
from apps.mcp_database.sample_data import build_sample_database
from apps.mcp_database.sandbox import ReadOnlyDatabase
from apps.mcp_database.tools import build_tools as database_tools
from apps.mcp_kubernetes.tools import build_tools as kubernetes_tools
from benchmarks.http_load import percentile
from benchmarks.results import Comparison, Plot

NAME = "planner"
SUBJECT = "offline planner"
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "planner_tasks.yaml"
MAX_P99_MS = 5.0
MIN_SCORE_PCT = 90.0


@dataclass(frozen=True)
class _DatabaseLimits:
    """What the database tools read at build time; the tools are only listed, never called."""

    max_rows: int = 500
    deadline_seconds: float = 5.0


def _listed(server: str, defs: list[ToolDef]) -> list[ToolSpec]:
    async def list_them() -> list[ToolSpec]:
        specs = []
        for tool in await MCPServer(server, tools=sdk_tools(defs)).list_tools():
            hints = tool.annotations
            specs.append(
                ToolSpec(
                    server=server,
                    name=tool.name,
                    description=tool.description or "",
                    input_schema=tool.input_schema,
                    output_schema=tool.output_schema,
                    read_only=bool(hints and hints.read_only_hint),
                    destructive=bool(hints.destructive_hint) if hints else True,
                    idempotent=bool(hints and hints.idempotent_hint),
                    open_world=bool(hints.open_world_hint) if hints else True,
                )
            )
        return specs

    return anyio.run(list_them)


def default_catalog() -> list[ToolSpec]:
    """The four servers' tools, built with no backing clients (listing needs none)."""
    none: Any = None
    return [
        *_listed(
            "aws", aws_tools(none, default_model_id="anthropic.claude-3-haiku-20240307-v1:0", max_tokens_cap=4096)
        ),
        *_listed("database", database_tools(_DatabaseLimits())),  # type: ignore[arg-type]
        *_listed("custom", custom_tools(none, none)),
        *_listed("kubernetes", kubernetes_tools(none, scalable_namespaces=frozenset({"shop"}), max_replicas=10)),
    ]


def _expected(entry: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(call["tool"], call["arguments"]) for call in entry["calls"]]


def _measure(catalog: list[ToolSpec], schema: Schema, repeats: int) -> tuple[int, int, list[float]]:
    corpus = yaml.safe_load(CORPUS.read_text())["tasks"]
    passed, timings = 0, []
    for entry in corpus:
        plan = plan_task(entry["task"], catalog, {"database": schema})
        got = [(f"{s.spec.server}.{s.spec.name}", s.arguments) for s in plan.steps]
        passed += got == _expected(entry)
        for _ in range(repeats):
            started = time.perf_counter()
            plan_task(entry["task"], catalog, {"database": schema})
            timings.append((time.perf_counter() - started) * 1000)
    return passed, len(corpus), timings


def run(quick: bool, scratch: Path) -> Comparison:
    comparison = Comparison(
        NAME,
        "Offline planner: corpus score and plan time",
        "Plain-language tasks from tests/fixtures/planner_tasks.yaml planned over the four servers' catalog "
        "and the sample database's schema, without a language model.",
    )
    database = scratch / "sample.db"
    build_sample_database(database)
    schema = parse_schema(ReadOnlyDatabase(database).schema().model_dump(mode="json"))
    if schema is None:
        raise RuntimeError("the sample database's schema could not be read by the planner")
    catalog = default_catalog()
    passed, total, timings = _measure(catalog, schema, repeats=3 if quick else 200)
    score = 100.0 * passed / total
    p50, p99 = percentile(timings, 50), percentile(timings, 99)
    comparison.add(SUBJECT, "corpus", tasks=total, passed=passed, score_pct=score)
    comparison.add(SUBJECT, "plan time", plans=len(timings), p50_ms=p50, p99_ms=p99, tools=len(catalog))
    comparison.goal("corpus tasks planned as written", score, ">=", MIN_SCORE_PCT, "%")
    comparison.goal("plan time on the default catalog (p99)", p99, "<=", MAX_P99_MS, "ms")
    comparison.plots.append(Plot("planner_plan_time.png", "Offline planner: time per plan", "p99_ms", "ms"))
    return comparison
