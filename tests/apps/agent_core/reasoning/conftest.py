"""Fixtures for the reasoners: the real tool catalog, the fake model endpoints, a scripted executor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio
import boto3
import botocore.loaders
import botocore.session
import pytest
from mcp.server import MCPServer

from apps.agent_core.model import ToolSpec
from apps.common.mcp_app import sdk_tools
from apps.common.tools import ToolDef
from apps.mcp_aws.tools import build_tools as aws_tools
from apps.mcp_custom.tools import build_tools as custom_tools
from apps.mcp_database.tools import build_tools as database_tools
from apps.mcp_kubernetes.tools import build_tools as kubernetes_tools
from tests.support.fake_bedrock import STRAY_AWS_VARIABLES, FakeBedrock, run_fake_bedrock
from tests.support.fake_openai import FakeOpenAI, run_fake_openai


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _DatabaseLimits:
    """What the database tools read at build time; the tools are never called here."""

    max_rows = 500
    deadline_seconds = 5.0


def _server_tools(server: str, defs: list[ToolDef]) -> list[ToolSpec]:
    async def list_them() -> list[ToolSpec]:
        listed = await MCPServer(server, tools=sdk_tools(defs)).list_tools()
        specs = []
        for tool in listed:
            hints = tool.annotations
            assert hints is not None
            specs.append(
                ToolSpec(
                    server=server,
                    name=tool.name,
                    description=tool.description or "",
                    input_schema=tool.input_schema,
                    output_schema=tool.output_schema,
                    read_only=bool(hints.read_only_hint),
                    destructive=bool(hints.destructive_hint),
                    idempotent=bool(hints.idempotent_hint),
                    open_world=bool(hints.open_world_hint),
                )
            )
        return specs

    return anyio.run(list_them)


@pytest.fixture(scope="session")
def catalog() -> list[ToolSpec]:
    """The four servers' tools as the agent core's catalog sees them: built by the servers' own code.

    The tools are built with no backing clients (they are only listed, never called), so the
    schemas, descriptions and annotations are exactly what the running servers publish.
    """
    none: Any = None
    return [
        *_server_tools(
            "aws", aws_tools(none, default_model_id="anthropic.claude-3-haiku-20240307-v1:0", max_tokens_cap=4096)
        ),
        *_server_tools("database", database_tools(_DatabaseLimits())),  # type: ignore[arg-type]
        *_server_tools("custom", custom_tools(none, none)),
        *_server_tools("kubernetes", kubernetes_tools(none, scalable_namespaces=frozenset({"shop"}), max_replicas=10)),
    ]


@pytest.fixture(scope="session")
def fake_bedrock_server() -> Iterator[FakeBedrock]:
    with run_fake_bedrock() as fake:
        yield fake


@pytest.fixture
def fake_bedrock(fake_bedrock_server: FakeBedrock, monkeypatch: pytest.MonkeyPatch) -> FakeBedrock:
    """The fake, emptied, with boto3 pointed at it through the standard variables only."""
    fake_bedrock_server.clear()
    for name in STRAY_AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake_bedrock_server.base_url)
    return fake_bedrock_server


@pytest.fixture(scope="session")
def _service_models() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


@pytest.fixture
def new_session(_service_models: botocore.loaders.Loader) -> Callable[[], boto3.Session]:
    """Fresh sessions (each reads the environment anew) sharing the parsed service models, for speed."""

    def make() -> boto3.Session:
        core = botocore.session.get_session()
        core.register_component("data_loader", _service_models)
        return boto3.Session(botocore_session=core)

    return make


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    with run_fake_openai() as fake:
        yield fake


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    fake_openai_server.clear()
    return fake_openai_server
