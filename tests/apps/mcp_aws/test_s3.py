from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from apps.common.tools import ToolDef, ToolError
from apps.mcp_aws.clients import AwsClients
from apps.mcp_aws.s3 import S3BucketList
from apps.mcp_aws.tools import build_tools
from tests.apps.mcp_aws.conftest import DEFAULT_MODEL_ID


@pytest.fixture
def bucket_names(clients: AwsClients) -> list[str]:
    """Three new buckets under a prefix no other test uses (the moto server is shared)."""
    prefix = f"awp-{uuid.uuid4().hex[:12]}-"
    names = [f"{prefix}{suffix}" for suffix in ("alpha", "beta", "gamma")]
    for name in names:
        clients.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    return names


def list_buckets(tools: dict[str, ToolDef], **kwargs: object) -> S3BucketList:
    result = tools["list_s3_buckets"].fn(**kwargs)
    assert isinstance(result, S3BucketList)
    return result


def test_prefix_selects_buckets(tools: dict[str, ToolDef], bucket_names: list[str]) -> None:
    prefix = bucket_names[0].rsplit("-", 1)[0] + "-"
    result = list_buckets(tools, prefix=prefix)
    assert [bucket.name for bucket in result.buckets] == bucket_names
    assert result.truncated is False
    for bucket in result.buckets:
        assert bucket.created is not None
        assert datetime.fromisoformat(bucket.created).tzinfo is not None


def test_listing_is_cut_at_max_buckets_and_says_so(tools: dict[str, ToolDef], bucket_names: list[str]) -> None:
    prefix = bucket_names[0].rsplit("-", 1)[0] + "-"
    cut = list_buckets(tools, prefix=prefix, max_buckets=2)
    assert [bucket.name for bucket in cut.buckets] == bucket_names[:2]
    assert cut.truncated is True
    exact = list_buckets(tools, prefix=prefix, max_buckets=3)
    assert len(exact.buckets) == 3
    assert exact.truncated is False


def test_without_a_prefix_every_bucket_is_listed(tools: dict[str, ToolDef], bucket_names: list[str]) -> None:
    names = {bucket.name for bucket in list_buckets(tools, max_buckets=1000).buckets}
    assert set(bucket_names) <= names


def test_a_prefix_nothing_matches_gives_an_empty_list(tools: dict[str, ToolDef]) -> None:
    result = list_buckets(tools, prefix=f"none-{uuid.uuid4().hex}")
    assert result.buckets == []
    assert result.truncated is False


def test_out_of_range_max_buckets_is_refused(tools: dict[str, ToolDef]) -> None:
    with pytest.raises(ToolError, match="between 1 and 1000"):
        tools["list_s3_buckets"].fn(max_buckets=0)


def test_missing_credentials_give_a_clear_message(no_credentials: None) -> None:
    clients = AwsClients.create("us-east-1")
    tool = next(
        t
        for t in build_tools(clients, default_model_id=DEFAULT_MODEL_ID, max_tokens_cap=10)
        if t.tool_name == "list_s3_buckets"
    )
    with pytest.raises(ToolError, match=r"^No AWS credentials are configured .* s3:ListAllMyBuckets"):
        tool.fn()
