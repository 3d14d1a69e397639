"""The built-in templates: valid against the real catalog, and run end to end against the real tools.

Each run goes through the MCP SDK's own server (argument validation, result conversion) with the tools
built as each server builds them, over local stand-ins: moto for S3, the sample SQLite database, a fake
Kubernetes API and a fake wttr.in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as SdkToolError
from mcp_types import CallToolResult

from apps.agent_core.model import ToolCall, ToolOutcome, ToolSpec
from apps.agent_core.workflows.document import parse_workflow
from apps.agent_core.workflows.engine import WorkflowResult, run_workflow
from apps.agent_core.workflows.templates import WorkflowTemplate, get_template, list_templates
from apps.agent_core.workflows.validation import validate_workflow
from apps.common.mcp_app import sdk_tools
from apps.common.tools import ToolDef
from apps.mcp_aws import tools as aws_tools
from apps.mcp_aws.clients import AwsClients
from apps.mcp_custom import tools as custom_tools
from apps.mcp_custom.kv_memory import MemoryKeyValueStore
from apps.mcp_custom.weather import WeatherClient
from apps.mcp_database import tools as database_tools
from apps.mcp_database.pool import SandboxedDatabase
from apps.mcp_database.protocol import WorkerLimits
from apps.mcp_database.sample_data import ORDER_STATUSES, build_sample_database
from apps.mcp_kubernetes import tools as kubernetes_tools
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from tests.support.fake_kube import FakeKube, default_state, run_fake_kube
from tests.support.fake_wttr import FakeWttr, run_fake_wttr

HEALTHY_POD_STATUSES = {"Running", "Succeeded", "Completed"}


class Tools:
    """Calls tools through the SDK's server, as an MCP client would reach them, and records what it analysed."""

    def __init__(self, server: str, defs: list[ToolDef], may_skip: frozenset[str] = frozenset()) -> None:
        self.server = server
        self.may_skip = may_skip
        self.mcp = MCPServer(server, tools=sdk_tools(defs))
        self.calls: list[ToolCall] = []
        self.analyzed: list[tuple[str, Any]] = []

    async def run_step(self, step_id: str, call: ToolCall, attempt: int, timeout: float | None) -> ToolOutcome:
        assert call.server == self.server
        self.calls.append(call)
        try:
            result = await self.mcp.call_tool(call.tool, call.arguments)
        except SdkToolError as exc:
            return ToolOutcome(call_id=call.id, ok=False, error=str(exc))
        assert isinstance(result, CallToolResult) and not result.is_error
        return ToolOutcome(call_id=call.id, ok=True, result=result.structured_content)

    async def skip_step(self, step_id: str, reason: str) -> None:
        assert step_id in self.may_skip, f"nothing else should be skipped here: {step_id} ({reason})"

    async def analyze(self, instruction: str, data: Any) -> str:
        self.analyzed.append((instruction, data))
        return "analysis"

    async def run(self, template_id: str, **kwargs: Any) -> WorkflowResult:
        template = get_template(template_id)
        assert template is not None
        return await run_workflow(
            template.workflow, run_step=self.run_step, skip_step=self.skip_step, analyze=self.analyze, **kwargs
        )


def test_there_are_the_four_promised_templates_each_described() -> None:
    templates = list_templates()

    assert [t.id for t in templates] == ["s3_inventory", "database_report", "cluster_health", "weather_to_store"]
    for template in templates:
        assert template.id == template.workflow.name
        assert template.title and template.description and template.workflow.description
    assert get_template("nope") is None


@pytest.mark.parametrize("template", list_templates(), ids=lambda t: t.id)
def test_every_template_is_valid_against_the_real_catalog(template: WorkflowTemplate, catalog: list[ToolSpec]) -> None:
    assert validate_workflow(template.workflow, catalog) == []
    # And survives the trip through JSON that the API makes.
    assert parse_workflow(template.workflow.model_dump_json(exclude_defaults=True)) == template.workflow


def test_a_template_broken_like_a_typo_would_be_caught(catalog: list[ToolSpec]) -> None:
    template = get_template("cluster_health")
    assert template is not None
    broken = template.workflow.model_dump_json().replace("result.pods[?", "result.pod[?")

    problems = validate_workflow(parse_workflow(broken), catalog)

    assert problems and all('has no field "pod"' in problem for problem in problems)


@pytest.mark.anyio
async def test_s3_inventory_lists_the_buckets_and_analyses_them(aws_env: str) -> None:
    names = sorted(f"wf-{uuid.uuid4().hex[:12]}-{n}" for n in range(2))
    s3 = boto3.client("s3")
    for name in names:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    defs = aws_tools.build_tools(
        AwsClients.create("us-west-2"), default_model_id="anthropic.claude-3-haiku-20240307-v1:0", max_tokens_cap=256
    )
    tools = Tools("aws", defs)

    result = await tools.run("s3_inventory")

    assert result.status == "succeeded", result.error
    listed = [bucket["name"] for bucket in result.results["buckets"]["buckets"]]
    assert set(names) <= set(listed)
    assert result.final_answer == "analysis"
    [(instruction, data)] = tools.analyzed
    assert "S3" in instruction
    assert data["steps"]["buckets"]["result"] == result.results["buckets"]


@pytest.mark.anyio
async def test_database_report_runs_its_queries_on_the_sample_database(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    build_sample_database(path)
    limits = WorkerLimits(
        path=path,
        deadline_seconds=2.0,
        max_rows=500,
        max_sql_length=10_000,
        max_reply_bytes=400_000,
        memory_bytes=256 * 1024 * 1024,
    )
    async with SandboxedDatabase(limits, workers=1) as database:
        tools = Tools("database", database_tools.build_tools(database))
        result = await tools.run("database_report")

    assert result.status == "succeeded", result.error
    assert {table["name"] for table in result.results["schema"]["tables"]} >= {
        "customers",
        "products",
        "orders",
        "order_items",
    }
    by_status = result.results["orders_by_status"]
    assert by_status["columns"] == ["status", "orders", "total_cents"]
    assert {row[0] for row in by_status["rows"]} == set(ORDER_STATUSES)
    top = result.results["top_products"]
    assert top["columns"] == ["id", "name", "category", "units", "revenue_cents"]
    assert top["row_count"] == 10
    revenues = [row[4] for row in top["rows"]]
    assert revenues == sorted(revenues, reverse=True) and revenues[-1] > 0
    countries = result.results["customers_by_country"]
    assert countries["columns"] == ["country", "customers", "orders", "revenue_cents"]
    assert sum(row[1] for row in countries["rows"]) == 500  # every customer counted once
    months = result.results["revenue_by_month"]
    assert [row[0] for row in months["rows"]][:2] == ["2023-01", "2023-02"]
    assert tools.analyzed and set(tools.analyzed[0][1]["steps"]) == set(result.steps)


@pytest.fixture(scope="module")
def kube() -> Iterator[FakeKube]:
    with run_fake_kube(default_state()) as fake:
        yield fake


@pytest.mark.anyio
async def test_cluster_health_troubleshoots_the_first_failing_pod(kube: FakeKube) -> None:
    with ClusterAccess.from_kubeconfig(kube.kubeconfig) as access:
        defs = kubernetes_tools.build_tools(access, scalable_namespaces=frozenset(), max_replicas=5)
        tools = Tools("kubernetes", defs)

        result = await tools.run("cluster_health")

    assert result.status == "succeeded", result.error
    assert result.results["status"]["node_count"] == 3
    pods = result.results["pods"]["pods"]
    failing = next(pod for pod in pods if pod["status"] not in HEALTHY_POD_STATUSES)
    troubleshoot = next(call for call in tools.calls if call.tool == "troubleshoot_pod")
    assert troubleshoot.arguments == {"namespace": failing["namespace"], "name": failing["name"]}
    diagnosis = result.results["failing_pod"]
    assert (diagnosis["name"], diagnosis["healthy"]) == (failing["name"], False)
    assert diagnosis["diagnosis"]
    assert set(tools.analyzed[0][1]["steps"]) == {"status", "pods", "failing_pod"}


@pytest.fixture(scope="module")
def wttr() -> Iterator[FakeWttr]:
    with run_fake_wttr() as fake:
        yield fake


@pytest.mark.anyio
@pytest.mark.parametrize(("inputs", "place"), [(None, "London"), ({"location": "Seattle"}, "Seattle")])
async def test_weather_to_store_stores_the_forecast_under_the_place(
    wttr: FakeWttr, inputs: dict[str, Any] | None, place: str
) -> None:
    weather = WeatherClient(wttr.base_url, retry_backoff_seconds=0.01)
    store = MemoryKeyValueStore()
    # A first run creates the key; replacing it (a later run) is the approval-gated replace_data, skipped here.
    tools = Tools("custom", custom_tools.build_tools(weather, store), may_skip=frozenset({"replace"}))
    try:
        result = await tools.run("weather_to_store", inputs=inputs)
    finally:
        await weather.aclose()

    assert result.status == "succeeded", result.error
    assert wttr.requests[-1].path == f"/{place}"
    item = store.get(f"weather/{place}")
    assert item is not None
    assert item.value == result.results["weather"]
    assert item.value["current"]
    assert result.results["store"]["key"] == f"weather/{place}"
    assert result.final_answer == 'Workflow "weather_to_store" succeeded: 3 succeeded, 1 skipped.'


@pytest.mark.anyio
async def test_weather_to_store_replaces_an_earlier_value_only_through_replace_data(wttr: FakeWttr) -> None:
    weather = WeatherClient(wttr.base_url, retry_backoff_seconds=0.01)
    store = MemoryKeyValueStore()
    store.create("weather/London", "an earlier run's value")
    # The run finds the key taken: store_data is skipped and replace_data (destructive: the agent core asks a
    # person before it runs) does the write. This harness calls tools directly, so here it just runs.
    tools = Tools("custom", custom_tools.build_tools(weather, store), may_skip=frozenset({"store"}))
    try:
        result = await tools.run("weather_to_store")
    finally:
        await weather.aclose()
    assert result.status == "succeeded", result.error
    assert [call.tool for call in tools.calls] == ["get_weather", "get_data", "replace_data"]
    item = store.get("weather/London")
    assert item is not None and item.value == result.results["weather"]
