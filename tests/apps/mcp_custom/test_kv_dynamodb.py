"""The DynamoDB store against moto's server over real HTTP, with the table the infrastructure creates.

The contract it shares with the other backends is in test_kv_contract.py; these are DynamoDB's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from apps.common.tools import ToolError
from apps.mcp_custom.kv_dynamodb import DynamoDBKeyValueStore
from apps.mcp_custom.kv_store import KeyExistsError
from tests.apps.mcp_custom.kv_backends import NOW, FakeClock, create_table
from tests.support.net import free_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


@pytest.fixture
def dynamodb(aws_env: str) -> DynamoDBClient:
    return boto3.client("dynamodb")


@pytest.fixture
def table(dynamodb: DynamoDBClient) -> Iterator[str]:
    name = f"kv-{uuid.uuid4().hex[:12]}"
    create_table(dynamodb, name)
    yield name
    dynamodb.delete_table(TableName=name)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(dynamodb: DynamoDBClient, table: str, clock: FakeClock) -> DynamoDBKeyValueStore:
    return DynamoDBKeyValueStore(table, dynamodb, clock=clock)


def test_client_uses_the_moto_endpoint(dynamodb: DynamoDBClient, aws_env: str) -> None:
    assert dynamodb.meta.endpoint_url == aws_env


def test_put_get_round_trip(store: DynamoDBKeyValueStore, dynamodb: DynamoDBClient, table: str) -> None:
    value = {"city": "São Paulo", "temps": [19, 29.5], "ok": True, "none": None}
    put = store.create("report/2025-03-14", value)
    got = store.get("report/2025-03-14")

    assert got is not None
    assert (got.key, got.value, got.updated_at, got.expires_at) == (
        "report/2025-03-14",
        value,
        "2023-11-14T22:13:20.000Z",
        None,
    )
    assert put == got
    # The item on the table is the documented shape, readable by anything else that uses it.
    raw = dynamodb.get_item(TableName=table, Key={"namespace": {"S": "default"}, "key": {"S": "report/2025-03-14"}})
    assert raw["Item"] == {
        "namespace": {"S": "default"},
        "key": {"S": "report/2025-03-14"},
        "value": {"S": '{"city":"São Paulo","temps":[19,29.5],"ok":true,"none":null}'},
        "updated_at": {"S": "2023-11-14T22:13:20.000Z"},
    }


def test_create_is_a_conditional_write_that_one_replica_wins(
    dynamodb: DynamoDBClient, table: str, clock: FakeClock
) -> None:
    # Two replicas (two stores, two clients) over one table: the second create finds the key taken.
    first = DynamoDBKeyValueStore(table, dynamodb, clock=clock)
    second = DynamoDBKeyValueStore(table, boto3.client("dynamodb"), clock=clock)
    first.create("shared/plan", "original")
    with pytest.raises(KeyExistsError, match=r"'shared/plan' already holds a value.*replace_data"):
        second.create("shared/plan", "overwritten")
    item = dynamodb.get_item(TableName=table, Key={"namespace": {"S": "default"}, "key": {"S": "shared/plan"}})["Item"]
    assert item["value"] == {"S": '"original"'}, "the refused create left the stored item alone"
    assert second.replace("shared/plan", "replaced").value == "replaced"
    with pytest.raises(KeyExistsError):
        first.create("shared/plan", "again")


def test_create_takes_a_key_whose_item_expired_but_was_not_swept_yet(
    store: DynamoDBKeyValueStore, dynamodb: DynamoDBClient, table: str, clock: FakeClock
) -> None:
    store.create("session:x", "old", ttl_seconds=10)
    clock.now += 9
    with pytest.raises(KeyExistsError):
        store.create("session:x", "new")
    clock.now += 1  # expired as far as reads go; DynamoDB's sweep has not deleted it (moto never does)
    key = {"namespace": {"S": "default"}, "key": {"S": "session:x"}}
    assert "Item" in dynamodb.get_item(TableName=table, Key=key)
    assert store.create("session:x", "new").value == "new"
    got = store.get("session:x")
    assert got is not None and (got.value, got.expires_at) == ("new", None)


def test_namespaces_do_not_see_each_other(dynamodb: DynamoDBClient, table: str) -> None:
    blue = DynamoDBKeyValueStore(table, dynamodb, namespace="blue")
    green = DynamoDBKeyValueStore(table, dynamodb, namespace="green")
    blue.create("shared", "blue's")
    assert green.get("shared") is None
    assert green.list_keys() == ([], False)
    assert blue.list_keys() == (["shared"], False)


def test_expired_items_are_filtered_before_dynamodb_deletes_them(
    store: DynamoDBKeyValueStore, dynamodb: DynamoDBClient, table: str, clock: FakeClock
) -> None:
    item = store.create("session:a", {"n": 1}, ttl_seconds=60)
    store.create("session:b", {"n": 2})
    assert item.expires_at == int(NOW) + 60

    clock.now += 59
    assert store.get("session:a") is not None
    assert store.list_keys("session:") == (["session:a", "session:b"], False)

    clock.now += 1
    assert store.get("session:a") is None
    assert store.list_keys("session:") == (["session:b"], False)
    # Still physically on the table: the filter, not DynamoDB's lazy TTL sweep, hid it.
    raw = dynamodb.get_item(TableName=table, Key={"namespace": {"S": "default"}, "key": {"S": "session:a"}})
    assert raw["Item"]["expires_at"] == {"N": str(int(NOW) + 60)}


def count_queries(client: DynamoDBClient) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    client.meta.events.register("provide-client-params.dynamodb.Query", lambda params, **_: calls.append(params))
    return calls


def test_prefix_listing_paginates(dynamodb: DynamoDBClient, table: str, clock: FakeClock) -> None:
    store = DynamoDBKeyValueStore(table, dynamodb, page_size=4, clock=clock)
    wanted = [f"p/{i:02d}" for i in range(25)]
    for key in [*wanted, "q/1", "q/2", "pz"]:
        store.create(key, key)
    queries = count_queries(dynamodb)

    assert store.list_keys("p/", limit=10) == (wanted[:10], True)
    assert len(queries) == 3  # pages of 4, 4, then 3 (one beyond the limit shows truncation)
    assert store.list_keys("p/", limit=25) == (wanted, False)
    assert store.list_keys("p/", limit=1000) == (wanted, False)
    assert store.list_keys("q/") == (["q/1", "q/2"], False)
    assert store.list_keys("", limit=1000)[0] == [*wanted, "pz", "q/1", "q/2"]
    assert store.list_keys("zzz") == ([], False)


def test_listing_skips_expired_items_across_pages(dynamodb: DynamoDBClient, table: str, clock: FakeClock) -> None:
    store = DynamoDBKeyValueStore(table, dynamodb, page_size=3, clock=clock)
    for i in range(12):
        store.create(f"t/{i:02d}", i, ttl_seconds=10 if i % 2 else None)
    clock.now += 10

    live = [f"t/{i:02d}" for i in range(0, 12, 2)]
    assert store.list_keys("t/", limit=4) == (live[:4], True)
    assert store.list_keys("t/", limit=6) == (live, False)


def test_listing_work_is_bounded_and_reported_as_truncated(dynamodb: DynamoDBClient, table: str) -> None:
    store = DynamoDBKeyValueStore(table, dynamodb, page_size=1)
    for i in range(22):
        store.create(f"b/{i:02d}", i)
    queries = count_queries(dynamodb)

    keys, truncated = store.list_keys("b/", limit=1000)

    assert len(queries) == 20  # the page cap, not the 22 pages a full listing would take
    assert (keys, truncated) == ([f"b/{i:02d}" for i in range(20)], True)


def test_limits_are_enforced_before_calling_dynamodb(store: DynamoDBKeyValueStore) -> None:
    with pytest.raises(ToolError, match="key must be"):
        store.create("bad key", 1)
    with pytest.raises(ToolError, match="64 KiB"):
        store.create("k", "x" * 70_000)
    with pytest.raises(ToolError, match="the limit is 1000 bytes"):
        DynamoDBKeyValueStore(store.table_name, boto3.client("dynamodb"), max_value_bytes=1000).replace("k", "x" * 999)
    with pytest.raises(ToolError, match="ttl_seconds"):
        store.create("k", 1, ttl_seconds=0)
    with pytest.raises(ToolError, match="limit"):
        store.list_keys("", limit=0)


def test_check_accepts_the_documented_table(store: DynamoDBKeyValueStore, dynamodb: DynamoDBClient) -> None:
    store.check()
    wrong = f"kv-wrong-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=wrong,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        with pytest.raises(ToolError, match="expected partition key 'namespace' and sort key 'key'"):
            DynamoDBKeyValueStore(wrong, dynamodb).check()
    finally:
        dynamodb.delete_table(TableName=wrong)


def test_missing_table(dynamodb: DynamoDBClient) -> None:
    store = DynamoDBKeyValueStore("no-such-table", dynamodb)
    calls = (lambda: store.create("k", 1), lambda: store.replace("k", 1), lambda: store.get("k"), store.check)
    for call in calls:
        with pytest.raises(ToolError, match="table 'no-such-table' does not exist"):
            call()


@pytest.mark.parametrize(
    ("code", "message", "retryable"),
    [
        ("AccessDeniedException", "access to DynamoDB table 't' was denied", False),
        ("UnrecognizedClientException", "was denied", False),
        ("ProvisionedThroughputExceededException", "busy .* try again shortly", True),
        ("ThrottlingException", "busy", True),
        ("InternalServerError", r"failed \(InternalServerError\)", True),
    ],
)
def test_client_errors_are_explained(dynamodb: DynamoDBClient, code: str, message: str, retryable: bool) -> None:
    store = DynamoDBKeyValueStore("t", dynamodb)
    with Stubber(dynamodb) as stub:
        stub.add_client_error("get_item", service_error_code=code, http_status_code=400)
        with pytest.raises(ToolError, match=message) as caught:
            store.get("k")
    assert caught.value.retryable is retryable


def test_no_credentials(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    client = boto3.session.Session().client("dynamodb", region_name="us-west-2", endpoint_url=moto_endpoint)
    with pytest.raises(ToolError, match="no AWS credentials") as caught:
        DynamoDBKeyValueStore("t", client).get("k")
    assert caught.value.retryable is False


def test_unreachable_endpoint(aws_env: str) -> None:
    config = Config(connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1, "mode": "standard"})
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{free_port()}", config=config)
    with pytest.raises(ToolError, match="could not reach DynamoDB") as caught:
        DynamoDBKeyValueStore("t", client).create("k", 1)
    assert caught.value.retryable is True
