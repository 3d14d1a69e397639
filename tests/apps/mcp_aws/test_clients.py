from __future__ import annotations

from typing import Any

import pytest

from apps.mcp_aws.clients import (
    BEDROCK_READ_TIMEOUT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    USER_AGENT_SUFFIX,
    AwsClients,
    resolve_region,
)
from tests.support.fake_bedrock import FakeBedrock


@pytest.mark.parametrize(
    ("environ", "profile_region", "expected"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"}, "ap-south-1", "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "us-east-2"}, "ap-south-1", "us-east-2"),
        ({"AWS_REGION": "  "}, "ap-south-1", "ap-south-1"),
        ({}, None, "us-west-2"),
    ],
)
def test_region_comes_from_the_environment_then_the_profile_then_the_default(
    environ: dict[str, str], profile_region: str | None, expected: str
) -> None:
    assert resolve_region("us-west-2", environ, profile_region=profile_region) == expected


def test_default_region_is_used_when_nothing_names_one(no_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    clients = AwsClients.create("eu-central-1")
    assert clients.region == "eu-central-1"
    assert clients.glue.meta.region_name == "eu-central-1"


def test_clients_share_one_configuration(clients: AwsClients) -> None:
    assert clients.region == "us-west-2"  # AWS_REGION from the environment beats the given default
    for client in (clients.s3, clients.glue, clients.bedrock_runtime):
        config: Any = client.meta.config  # botocore's stubs leave Config's options untyped
        assert client.meta.region_name == "us-west-2"
        assert config.retries == {"mode": "standard", "total_max_attempts": 3}
        assert config.connect_timeout == CONNECT_TIMEOUT_SECONDS
        assert config.user_agent_extra == USER_AGENT_SUFFIX
    configs: list[Any] = [c.meta.config for c in (clients.s3, clients.glue, clients.bedrock_runtime)]
    read_timeouts = [config.read_timeout for config in configs]
    assert read_timeouts == [READ_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, BEDROCK_READ_TIMEOUT_SECONDS]
    assert CONNECT_TIMEOUT_SECONDS < READ_TIMEOUT_SECONDS < BEDROCK_READ_TIMEOUT_SECONDS


def test_endpoints_come_from_boto3s_own_variables(aws_env: str, clients: AwsClients, fake_bedrock: FakeBedrock) -> None:
    assert clients.s3.meta.endpoint_url == aws_env
    assert clients.glue.meta.endpoint_url == aws_env
    assert clients.bedrock_runtime.meta.endpoint_url == fake_bedrock.base_url


def test_the_user_agent_suffix_is_sent(clients: AwsClients, fake_bedrock: FakeBedrock) -> None:
    clients.bedrock_runtime.converse(
        modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    assert USER_AGENT_SUFFIX in fake_bedrock.calls[0].headers["user-agent"]


def test_credentials_are_reported_available_from_the_environment(clients: AwsClients) -> None:
    assert clients.credentials_available() is True


def test_credentials_are_reported_missing_when_the_chain_finds_none(no_credentials: None) -> None:
    assert AwsClients.create("us-east-1").credentials_available() is False


def test_max_attempts_must_be_positive(aws_env: str) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        AwsClients.create("us-east-1", max_attempts=0)
