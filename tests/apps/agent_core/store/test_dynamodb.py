"""What is particular to the DynamoDB backend: the documented table and items, readiness, error messages."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from apps.agent_core.store.base import StoreError
from apps.agent_core.store.dynamodb import DynamoDBRunStore, create_table, created_key
from tests.apps.agent_core.store.helpers import make_header
from tests.support.net import free_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

pytestmark = pytest.mark.anyio


def test_client_uses_the_moto_endpoint(dynamodb: DynamoDBClient, aws_env: str) -> None:
    assert dynamodb.meta.endpoint_url == aws_env


def test_create_table_makes_the_documented_schema(dynamodb: DynamoDBClient, table: str) -> None:
    described = dynamodb.describe_table(TableName=table)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in described["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    assert described.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"
    indexes = {
        index["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]],
            index["Projection"]["ProjectionType"],
        )
        for index in described["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "by_created": ([("gsi_all", "HASH"), ("created_key", "RANGE")], "ALL"),
        "by_status": ([("status", "HASH"), ("created_key", "RANGE")], "ALL"),
    }


async def test_items_have_the_documented_layout(dynamodb: DynamoDBClient, table: str) -> None:
    store = DynamoDBRunStore(table, dynamodb, clock=lambda: 1_700_000_123.5)
    header = make_header("abc", created_at=1_700_000_000.25)
    await store.create(header)
    await store.append_event("abc", "run_started", {"k": "v"})
    updated = await store.update(header.model_copy(update={"status": "running"}))

    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "RUN#abc"}, "sk": {"S": "HEADER"}})["Item"]
    assert {name: next(iter(value.values())) for name, value in item.items() if name != "header"} == {
        "pk": "RUN#abc",
        "sk": "HEADER",
        "status": "running",
        "created_key": "00001700000000250000#abc",
        "gsi_all": "RUN",
        "version": "1",
        "next_seq": "1",
    }
    assert item["header"]["S"] == updated.model_dump_json()
    event = dynamodb.get_item(TableName=table, Key={"pk": {"S": "RUN#abc"}, "sk": {"S": "EVENT#0000000001"}})["Item"]
    assert event["type"] == {"S": "run_started"} and event["data"] == {"S": '{"k":"v"}'}
    assert event["seq"] == {"N": "1"} and float(event["at"]["N"]) == 1_700_000_123.5


def test_created_key_sorts_in_time_order() -> None:
    keys = [created_key(t, "z") for t in (0.0, 9.5, 10.0, 1_700_000_000.0, 99_999_999_999.999999)]
    assert keys == sorted(keys)
    assert created_key(1.0, "a") < created_key(1.0, "b") < created_key(1.000001, "a")


async def test_check_refuses_a_table_with_another_schema(dynamodb: DynamoDBClient) -> None:
    name = f"other-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(StoreError, match="does not have the expected schema"):
        await DynamoDBRunStore(name, dynamodb).check()


def test_create_table_twice_is_a_store_error(dynamodb: DynamoDBClient, table: str) -> None:
    with pytest.raises(StoreError, match="ResourceInUseException"):
        create_table(dynamodb, table)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AccessDeniedException", "access to the run store's DynamoDB table 't' was denied"),
        ("ThrottlingException", "throttled the run store"),
        ("ProvisionedThroughputExceededException", "throttled the run store"),
        ("InternalServerError", r"DynamoDB call failed \(InternalServerError\)"),
    ],
)
async def test_client_errors_are_explained(dynamodb: DynamoDBClient, code: str, message: str) -> None:
    store = DynamoDBRunStore("t", dynamodb)
    with Stubber(dynamodb) as stub:
        stub.add_client_error("get_item", service_error_code=code, http_status_code=400)
        with pytest.raises(StoreError, match=message):
            await store.get("x")


async def test_no_credentials(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.session.Session().client("dynamodb", region_name="us-west-2", endpoint_url=moto_endpoint)
    with pytest.raises(StoreError, match="no AWS credentials"):
        await DynamoDBRunStore("t", client).get("x")


async def test_unreachable_endpoint(aws_env: str) -> None:
    config = Config(connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1, "mode": "standard"})
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{free_port()}", config=config)
    with pytest.raises(StoreError, match="could not reach DynamoDB for the run store's table 't'"):
        await DynamoDBRunStore("t", client).append_event("x", "run_started", {})
