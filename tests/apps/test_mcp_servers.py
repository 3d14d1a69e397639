"""The contract every MCP server keeps, checked on the real processes (``python -m apps.mcp_*``).

Each server runs as its own process on 127.0.0.1 against local stand-ins (moto's server, a fake
Kubernetes API, a fake wttr.in), and is driven with the official SDK client on both revisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.support.fake_kube import FakeKube, run_fake_kube
from tests.support.fake_wttr import FakeWttr, run_fake_wttr
from tests.support.processes import RunningService, run_service
from tests.support.servers import MODES, mcp_client


@dataclass(frozen=True)
class ServerCase:
    module: str
    tools: frozenset[str]
    destructive: frozenset[str]
    read_only_call: tuple[str, dict[str, Any]]
    bad_call: tuple[str, dict[str, Any]]


CASES = {
    "aws": ServerCase(
        "apps.mcp_aws",
        frozenset(
            {"list_s3_buckets", "invoke_bedrock_model", "list_glue_jobs", "start_glue_job", "get_glue_job_status"}
        ),
        frozenset({"start_glue_job"}),
        ("list_s3_buckets", {"max_buckets": 10}),
        ("list_s3_buckets", {"max_buckets": 0}),
    ),
    "database": ServerCase(
        "apps.mcp_database",
        frozenset({"get_schema", "execute_query"}),
        frozenset(),
        ("execute_query", {"sql": "SELECT count(*) AS n FROM customers"}),
        ("execute_query", {"sql": ""}),
    ),
    "custom": ServerCase(
        "apps.mcp_custom",
        frozenset({"get_weather", "store_data", "replace_data", "get_data", "list_keys"}),
        frozenset({"replace_data"}),
        ("get_weather", {"location": "London"}),
        ("get_weather", {"location": "http://169.254.169.254/latest"}),
    ),
    "kubernetes": ServerCase(
        "apps.mcp_kubernetes",
        frozenset({"list_pods", "get_cluster_status", "troubleshoot_pod", "scale_deployment"}),
        frozenset({"scale_deployment"}),
        ("list_pods", {"limit": 5}),
        ("list_pods", {"limit": 0}),
    ),
}


@pytest.fixture(scope="module")
def fake_wttr() -> Iterator[FakeWttr]:
    with run_fake_wttr() as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_kube() -> Iterator[FakeKube]:
    with run_fake_kube() as fake:
        yield fake


@pytest.fixture(scope="module")
def servers(
    moto_endpoint: str, fake_wttr: FakeWttr, fake_kube: FakeKube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, RunningService]]:
    data = tmp_path_factory.mktemp("servers")
    empty = data / "empty"
    empty.write_text("")
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-west-2",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AGENTIC_DATABASE_PATH": str(data / "sample.db"),
        "AGENTIC_WEATHER_BASE_URL": fake_wttr.base_url,
        "KUBECONFIG": str(fake_kube.kubeconfig),
        "AGENTIC_SCALABLE_NAMESPACES": "shop",
    }
    with (
        run_service("apps.mcp_aws", env, log_path=data / "aws.log") as aws,
        run_service("apps.mcp_database", env, log_path=data / "database.log") as database,
        run_service("apps.mcp_custom", env, log_path=data / "custom.log") as custom,
        run_service("apps.mcp_kubernetes", env, log_path=data / "kubernetes.log") as kubernetes,
    ):
        running = {"aws": aws, "database": database, "custom": custom, "kubernetes": kubernetes}
        for name, service in running.items():
            print(f"{name}: ready {service.seconds_to_ready:.2f} s after start")
        yield running


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_server_lists_its_tools_and_answers_calls(servers: dict[str, RunningService], name: str, mode: str) -> None:
    case = CASES[name]

    async def scenario() -> tuple[Any, Any, Any]:
        async with mcp_client(servers[name].url + "/mcp", mode) as client:
            tools = (await client.list_tools()).tools
            good = await client.call_tool(*case.read_only_call)
            bad = await client.call_tool(*case.bad_call)
            return tools, good, bad

    tools, good, bad = anyio.run(scenario)
    assert {tool.name for tool in tools} == case.tools
    for tool in tools:
        assert tool.description and len(tool.description) <= 300, tool.name
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.output_schema is not None, f"{tool.name} has no output schema"
        hints = tool.annotations
        assert None not in (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint)
        assert hints.destructive_hint is (tool.name in case.destructive), tool.name
        if hints.destructive_hint:
            assert hints.read_only_hint is False
    assert good.is_error is False, good.content
    assert isinstance(good.structured_content, dict)
    assert bad.is_error is True
    assert "Traceback" not in bad.content[0].text


@pytest.mark.parametrize("name", sorted(CASES))
def test_server_answers_malformed_json_with_a_parse_error(servers: dict[str, RunningService], name: str) -> None:
    response = httpx.post(
        servers[name].url + "/mcp",
        content=b'{"jsonrpc": "2.0", "method": ',
        headers={"content-type": "application/json", "accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


@pytest.mark.parametrize("name", sorted(CASES))
def test_server_probes_and_metrics(servers: dict[str, RunningService], name: str) -> None:
    url = servers[name].url
    assert httpx.get(url + "/health").text == "OK"
    assert httpx.get(url + "/ready").json()["status"] == "ready"
    metrics = httpx.get(url + "/metrics").text
    assert "# TYPE mcp_tool_calls_total counter" in metrics
    assert "# TYPE mcp_tool_call_duration_seconds histogram" in metrics


def test_database_server_reports_real_rows(servers: dict[str, RunningService]) -> None:
    async def scenario() -> Any:
        async with mcp_client(servers["database"].url + "/mcp", "2026-07-28") as client:
            return await client.call_tool("execute_query", {"sql": "SELECT count(*) AS n FROM customers"})

    result = anyio.run(scenario)
    assert result.structured_content["columns"] == ["n"]
    assert result.structured_content["rows"] == [[500]]


def test_kubernetes_scaling_respects_the_allow_list(servers: dict[str, RunningService], fake_kube: FakeKube) -> None:
    async def scenario() -> Any:
        async with mcp_client(servers["kubernetes"].url + "/mcp", "legacy") as client:
            return await client.call_tool(
                "scale_deployment", {"namespace": "kube-system", "name": "coredns", "replicas": 5}
            )

    result = anyio.run(scenario)
    assert result.is_error is True
    assert "shop" in result.content[0].text
    assert fake_kube.scale_patches_applied == 0


def test_a_bad_setting_stops_the_server_naming_the_variable(tmp_path: Path) -> None:
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "apps.mcp_database", "--port", "1"],
        env={"AGENTIC_QUERY_MAX_ROWS": "-5", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 2
    assert "AGENTIC_QUERY_MAX_ROWS" in completed.stderr
