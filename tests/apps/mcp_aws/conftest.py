"""Fixtures for the AWS MCP server: boto3 pointed at moto, Bedrock Runtime at the fake Converse endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import botocore.loaders
import botocore.session
import pytest

from apps.common.tools import ToolDef
from apps.mcp_aws.clients import AwsClients
from apps.mcp_aws.tools import build_tools
from tests.support.fake_bedrock import FakeBedrock, run_fake_bedrock

DEFAULT_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
MAX_TOKENS_CAP = 4096

# Everything in the default chain that could find credentials outside the test's control.
_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@pytest.fixture(scope="session")
def fake_bedrock_server() -> Iterator[FakeBedrock]:
    with run_fake_bedrock() as fake:
        yield fake


@pytest.fixture
def fake_bedrock(fake_bedrock_server: FakeBedrock, aws_env: str, monkeypatch: pytest.MonkeyPatch) -> FakeBedrock:
    """The fake, emptied, with boto3's Bedrock Runtime endpoint pointed at it (S3 and Glue stay on moto)."""
    fake_bedrock_server.clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake_bedrock_server.base_url)
    return fake_bedrock_server


@pytest.fixture(scope="session")
def _service_models() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


@pytest.fixture
def new_session(_service_models: botocore.loaders.Loader) -> Callable[[], boto3.Session]:
    """Fresh boto3 sessions (each reads the environment anew) sharing parsed service models.

    Parsing the S3, Glue and Bedrock models is most of the cost of making the clients, and
    nothing a test changes lives in them.
    """

    def make() -> boto3.Session:
        core = botocore.session.get_session()
        core.register_component("data_loader", _service_models)
        return boto3.Session(botocore_session=core)

    return make


@pytest.fixture
def clients(aws_env: str, fake_bedrock: FakeBedrock, new_session: Callable[[], boto3.Session]) -> AwsClients:
    return AwsClients.create("us-east-1", session=new_session())


@pytest.fixture
def tools(clients: AwsClients) -> dict[str, ToolDef]:
    defs = build_tools(clients, default_model_id=DEFAULT_MODEL_ID, max_tokens_cap=MAX_TOKENS_CAP)
    return {tool.tool_name: tool for tool in defs}


@pytest.fixture
def no_credentials(aws_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment where the default chain finds nothing and asks no metadata service."""
    for name in _CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
