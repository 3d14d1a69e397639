"""Once-keyed appends on DynamoDB: where the key is stored, and the answers moto never gives.

Moto never reports a transaction conflict, so those paths run against botocore's Stubber, which
checks each request against the DynamoDB API model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.stub import Stubber

from apps.agent_core.store import dynamodb_append
from apps.agent_core.store.base import AlreadyRecorded, StoreError
from apps.agent_core.store.dynamodb import DynamoDBRunStore
from tests.apps.agent_core.store.helpers import make_header

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

pytestmark = pytest.mark.anyio

_COUNTER = {"Item": {"next_seq": {"N": "0"}}}


def cancelled(stub: Stubber, *codes: str, item: dict[str, Any] | None = None) -> None:
    """Queue a TransactionCanceledException whose reasons (counter, key, event) carry ``codes``."""
    reasons: list[dict[str, Any]] = [{"Code": code} for code in codes]
    if item is not None:
        reasons[1]["Item"] = item
    stub.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        modeled_fields={"CancellationReasons": reasons},
    )


async def test_the_once_item_sits_beside_the_events_and_shows_in_no_query(dynamodb: DynamoDBClient, table: str) -> None:
    store = DynamoDBRunStore(table, dynamodb)
    header = make_header("abc")
    await store.create(header)
    decided = await store.append_event("abc", "approval_decided", {"by": "ana"}, once="decision:a1")
    await store.append_event("abc", "step_started", {})

    stored = dynamodb.query(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "RUN#abc"}}
    )["Items"]
    assert [item["sk"]["S"] for item in stored] == [
        "EVENT#0000000001",
        "EVENT#0000000002",
        "HEADER",
        "ONCE#decision:a1",
    ]
    assert stored[-1] == {"pk": {"S": "RUN#abc"}, "sk": {"S": "ONCE#decision:a1"}, "seq": {"N": "1"}}
    assert stored[2]["next_seq"] == {"N": "2"}  # the transaction moved the counter the next append continued
    assert [event.seq for event in await store.events("abc")] == [decided.seq, 2]
    assert [event.seq for event in await store.events("abc", after=1)] == [2]
    assert [run.id for run in (await store.list()).runs] == ["abc"]
    assert [run.id for run in (await store.list(status="queued")).runs] == ["abc"]


async def test_a_transaction_conflict_is_tried_again(dynamodb: DynamoDBClient) -> None:
    store = DynamoDBRunStore("t", dynamodb, clock=lambda: 1_700_000_000.0)
    with Stubber(dynamodb) as stub:
        stub.add_response("get_item", _COUNTER)
        cancelled(stub, "None", "TransactionConflict", "None")
        stub.add_response("get_item", _COUNTER)
        stub.add_response("transact_write_items", {})
        event = await store.append_event("x", "approval_decided", {}, once="decision:a1")
        stub.assert_no_pending_responses()
    assert event.seq == 1


async def test_the_holder_is_read_when_the_cancellation_omits_it(dynamodb: DynamoDBClient) -> None:
    store = DynamoDBRunStore("t", dynamodb)
    with Stubber(dynamodb) as stub:
        stub.add_response("get_item", _COUNTER)
        cancelled(stub, "None", "ConditionalCheckFailed", "None")
        stub.add_response(
            "get_item",
            {"Item": {"seq": {"N": "4"}}},
            {"TableName": "t", "Key": {"pk": {"S": "RUN#x"}, "sk": {"S": "ONCE#k"}}, "ConsistentRead": True},
        )
        with pytest.raises(AlreadyRecorded) as refused:
            await store.append_event("x", "approval_decided", {}, once="k")
    assert refused.value.existing_seq == 4


async def test_a_counter_that_never_settles_gives_up(dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamodb_append, "pause", lambda attempt: None)
    store = DynamoDBRunStore("t", dynamodb)
    with Stubber(dynamodb) as stub:
        for _ in range(dynamodb_append._TRANSACT_ATTEMPTS):
            stub.add_response("get_item", _COUNTER)
            cancelled(stub, "ConditionalCheckFailed", "None", "None")
        with pytest.raises(StoreError, match="busy with other writers"):
            await store.append_event("x", "approval_decided", {}, once="k")
        stub.assert_no_pending_responses()


async def test_header_writes_try_again_past_a_transaction_in_flight(dynamodb: DynamoDBClient) -> None:
    store = DynamoDBRunStore("t", dynamodb)
    header = make_header("x")
    with Stubber(dynamodb) as stub:
        stub.add_client_error("update_item", service_error_code="TransactionConflictException")
        stub.add_response("update_item", {})
        stub.add_client_error("update_item", service_error_code="TransactionConflictException")
        stub.add_response("update_item", {"Attributes": {"next_seq": {"N": "7"}}})
        stub.add_response("put_item", {})
        assert (await store.update(header)).version == 1
        assert (await store.append_event("x", "step_started", {})).seq == 7
        stub.assert_no_pending_responses()
