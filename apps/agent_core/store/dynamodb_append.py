"""Appending an event to a run's journal on DynamoDB (the items are described in ``dynamodb.py``).

Without ``once``, two calls: ``UpdateItem ADD next_seq 1`` on the header takes the next number
(atomic, so concurrent writers never collide; conditional on the lease when fenced), then ``PutItem``
writes the event. If the process dies between them, that number is never written: readers see a gap,
never a duplicate.

With ``once``, one ``TransactWriteItems`` (all or nothing), so a refused key uses no number:

1. update the header: ``SET next_seq = n + 1`` if ``next_seq = n`` (and the lease holds, when fenced);
2. put the ``ONCE#<key>`` item holding ``seq``, if it does not exist;
3. put the event item, if it does not exist.

``n`` is read (strongly consistent) just before; that read also answers ``RunNotFound`` and
``LeaseLost``. If another writer moved the counter meanwhile, the transaction is cancelled and the
append starts again from a fresh read (bounded). If only the key's condition failed, the key is
taken: ``AlreadyRecorded``, with the seq from the item the cancellation returns.

While such a transaction is in flight, a plain write to the header fails with
``TransactionConflictException``, which botocore does not retry; the counter update retries it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apps.agent_core.model import EventType, RunEvent
from apps.agent_core.store.base import AlreadyRecorded, LeaseLost, RunNotFound, StoreError
from apps.agent_core.store.codec import make_event
from apps.agent_core.store.dynamodb_errors import error_code, pause, retry_conflicts
from apps.agent_core.store.dynamodb_items import Item, event_sk, once_sk, pk, run_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

__all__ = ["EventAppender"]

# Each round one of the writers racing for the counter wins, so this covers dozens of them at once.
_TRANSACT_ATTEMPTS = 25
_FAILED = "ConditionalCheckFailed"
_CONFLICT = "TransactionConflict"


class EventAppender:
    """``RunStore.append_event`` for one table; blocking (the store runs it in a worker thread)."""

    def __init__(self, client: DynamoDBClient, table: str, clock: Callable[[], float]) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def append(
        self, run_id: str, type_: EventType, text: str, *, lease_owner: str | None, once: str | None
    ) -> RunEvent:
        if once is None:
            return self._append_counted(run_id, type_, text, lease_owner)
        return self._append_once(run_id, type_, text, lease_owner, once)

    def _append_counted(self, run_id: str, type_: EventType, text: str, lease_owner: str | None) -> RunEvent:
        condition = "attribute_exists(pk)"
        values: dict[str, AttributeValueTypeDef] = {":one": {"N": "1"}}
        if lease_owner is not None:
            condition += " AND lease_owner = :owner AND lease_expires_at > :now"
            values |= {":owner": {"S": lease_owner}, ":now": {"N": repr(self._clock())}}
        try:
            counter = retry_conflicts(
                lambda: self._client.update_item(
                    TableName=self._table,
                    Key=run_key(run_id),
                    UpdateExpression="ADD next_seq :one",
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValues="UPDATED_NEW",
                )
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            if lease_owner is not None:
                self._read_counter(run_id, None)  # RunNotFound if the run is missing
                raise LeaseLost(f"run {run_id!r} is no longer leased to {lease_owner!r}") from exc
            raise RunNotFound(f"run {run_id!r} does not exist") from exc
        seq = int(counter["Attributes"]["next_seq"]["N"])
        at = self._clock()
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_event_item(run_id, seq, type_, text, at),
                # Never true while next_seq is only ever incremented; guards against a reset counter.
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise _counter_reset(run_id, seq) from exc
            raise
        return make_event(run_id, seq, type_, text, at)

    def _append_once(self, run_id: str, type_: EventType, text: str, lease_owner: str | None, once: str) -> RunEvent:
        for attempt in range(_TRANSACT_ATTEMPTS):
            last = self._read_counter(run_id, lease_owner)
            seq, at = last + 1, self._clock()
            try:
                self._client.transact_write_items(
                    TransactItems=self._once_transaction(
                        run_id, last, lease_owner, once, _event_item(run_id, seq, type_, text, at)
                    )
                )
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                response: Any = exc.response
                reasons = response.get("CancellationReasons") or []
                codes = [str(reason.get("Code") or "None") for reason in reasons]
                if len(codes) != 3:
                    raise
                counter, key, event = codes
                if counter == "None" and key == _FAILED:
                    raise AlreadyRecorded(run_id, once, self._held_seq(run_id, once, reasons[1])) from exc
                if counter == "None" and event == _FAILED:
                    raise _counter_reset(run_id, seq) from exc
                # The counter moved (or a lease changed: the next read says so) or another transaction
                # held an item: neither wrote anything, so start again from a fresh read.
                if counter != _FAILED and _CONFLICT not in codes:
                    raise
                pause(attempt)
                continue
            return make_event(run_id, seq, type_, text, at)
        raise StoreError(f"run {run_id!r} is busy with other writers; its event was not recorded, try again")

    def _once_transaction(
        self, run_id: str, last: int, lease_owner: str | None, once: str, event: Item
    ) -> list[TransactWriteItemTypeDef]:
        condition = "next_seq = :last"
        values: dict[str, AttributeValueTypeDef] = {":last": {"N": str(last)}, ":seq": {"N": str(last + 1)}}
        if lease_owner is not None:
            condition += " AND lease_owner = :owner AND lease_expires_at > :now"
            values |= {":owner": {"S": lease_owner}, ":now": {"N": repr(self._clock())}}
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": run_key(run_id),
                    "UpdateExpression": "SET next_seq = :seq",
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": values,
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {"pk": {"S": pk(run_id)}, "sk": {"S": once_sk(once)}, "seq": {"N": str(last + 1)}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                    # The holder's seq comes back with the cancellation: no second read to name it.
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {"Put": {"TableName": self._table, "Item": event, "ConditionExpression": "attribute_not_exists(pk)"}},
        ]

    def _read_counter(self, run_id: str, lease_owner: str | None) -> int:
        """The last seq handed out; ``RunNotFound`` or ``LeaseLost`` (by this store's clock) instead."""
        item = self._client.get_item(
            TableName=self._table,
            Key=run_key(run_id),
            ConsistentRead=True,
            ProjectionExpression="next_seq, lease_owner, lease_expires_at",
        ).get("Item")
        if item is None:
            raise RunNotFound(f"run {run_id!r} does not exist")
        if lease_owner is not None:
            owner = item.get("lease_owner", {}).get("S")
            until = float(item.get("lease_expires_at", {}).get("N", "0"))
            if owner != lease_owner or until <= self._clock():
                raise LeaseLost(f"run {run_id!r} is no longer leased to {lease_owner!r}")
        return int(item.get("next_seq", {}).get("N", "0"))

    def _held_seq(self, run_id: str, once: str, reason: Any) -> int:
        held = reason.get("Item")
        if held is None:  # a DynamoDB-compatible store that does not return the item
            held = self._client.get_item(
                TableName=self._table, Key={"pk": {"S": pk(run_id)}, "sk": {"S": once_sk(once)}}, ConsistentRead=True
            ).get("Item")
        if held is None or "seq" not in held:
            raise StoreError(f"the once key {once!r} of run {run_id!r} is damaged (its seq is missing)")
        return int(held["seq"]["N"])


def _event_item(run_id: str, seq: int, type_: str, text: str, at: float) -> Item:
    return {
        "pk": {"S": pk(run_id)},
        "sk": {"S": event_sk(seq)},
        "seq": {"N": str(seq)},
        "type": {"S": type_},
        "data": {"S": text},
        "at": {"N": repr(at)},
    }


def _counter_reset(run_id: str, seq: int) -> StoreError:
    return StoreError(f"event {seq} of run {run_id!r} already exists; its counter was reset")
