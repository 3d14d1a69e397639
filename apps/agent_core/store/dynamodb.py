"""The run store on one DynamoDB table, shared by every agent-core replica in the cluster.

Table schema (the infrastructure creates exactly this; ``create_table`` below does the same for tests
and local setups). On-demand billing (PAY_PER_REQUEST).

Key schema: partition key ``pk`` (S), sort key ``sk`` (S).

Run header item, ``pk = "RUN#<run id>"``, ``sk = "HEADER"``:

================  ====  ===================================================================
attribute         type  role
================  ====  ===================================================================
``header``        S     the ``RunHeader`` as JSON
``status``        S     the run's status; partition key of ``by_status``
``created_key``   S     ``<created_at in microseconds, zero-padded to 20 digits>#<run id>``;
                        sort key of both indexes, so runs list newest first, ties by id
``gsi_all``       S     always ``"RUN"``; partition key of ``by_created`` (events lack it,
                        so that index holds headers only)
``version``       N     incremented by every header write; ``update`` is conditional on it
``next_seq``      N     the last event sequence number handed out (starts at 0)
``lease_owner``   S     the replica running the run; absent when none (finished, let go)
``lease_expires_at`` N  epoch seconds the lease runs to; absent with ``lease_owner``
``trigger_kind``  S     what started the run (``schedule``, ``alert``); absent for the API and
                        for runs stored before triggers; ``list(trigger=…)`` filters on it
================  ====  ===================================================================

Event item, ``pk = "RUN#<run id>"``, ``sk = "EVENT#<seq zero-padded to 10 digits>"``: ``seq`` (N),
``type`` (S), ``data`` (S, JSON), ``at`` (N, epoch seconds).

Once item, ``pk = "RUN#<run id>"``, ``sk = "ONCE#<key>"``: ``seq`` (N), the event written with
``append_event(once=key)``. Written in the same transaction as that event; never changed or removed.
Like events, it lacks the index keys, so it appears in no listing, and ``events`` reads only the
``EVENT#`` range of sort keys.

Claim item, ``pk = "CLAIM#<key>"``, ``sk = "CLAIM"``: ``holder`` (S) and, for a claim that lapses,
``expires_at`` (N, epoch seconds). ``claim`` puts it on condition that it does not exist or has lapsed.

Global secondary indexes, both projecting ALL (a list is then one Query, with no BatchGetItem):

- ``by_created``: partition key ``gsi_all`` (S), sort key ``created_key`` (S) — every run.
- ``by_status``: partition key ``status`` (S), sort key ``created_key`` (S) — runs of one status.

``by_created`` puts every header under one partition key; at the write rates of a run store (a few
header writes per run) that is far from DynamoDB's per-partition limits.

Behaviour worth knowing:

- ``get`` and ``events`` read strongly consistently; ``list`` reads an index, which DynamoDB keeps
  eventually consistent, so a run may take a moment to appear in (or change status in) a listing.
- ``append_event`` takes the next number with ``UpdateItem ADD next_seq 1`` (atomic, so concurrent
  writers never collide), then writes the event item. If the process dies between the two calls, that
  number is never written: readers see a gap, never a duplicate. With ``once`` it is one
  ``TransactWriteItems`` instead (header counter, once item, event); see ``dynamodb_append.py``.
- ``append_event(lease_owner=…)`` makes the counter update conditional on ``lease_owner`` and an
  unexpired ``lease_expires_at``: fencing costs no extra request. ``expired_leases`` queries
  ``by_status`` once per active status with a filter on the lease, so it reads only active runs.
- Items are capped below DynamoDB's 400 KB limit: an event's data or a header over
  ``MAX_DOCUMENT_BYTES`` (350 000 bytes of UTF-8 JSON) is refused with ``StoreError`` before anything is
  written. Callers cap tool results before storing them.

IAM actions the service needs: ``dynamodb:GetItem``, ``PutItem``, ``UpdateItem``, ``Query`` on the
table and ``arn:…:table/<name>/index/*``, and ``DescribeTable`` (readiness). ``TransactWriteItems``
needs no action of its own: its Put and Update are authorised as ``PutItem`` and ``UpdateItem``.

botocore failures become ``StoreError`` with a message naming the cause (missing table, access denied,
throttling, no credentials, unreachable endpoint); botocore's own retries run first.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from botocore.exceptions import ClientError

from apps.agent_core.model import ACTIVE_STATUSES, EventType, RunEvent, RunHeader, RunStatus, TriggerKind
from apps.agent_core.store.base import RunExists, RunNotFound, RunPage, StoreError, VersionConflict
from apps.agent_core.store.codec import (
    Position,
    check_claim_key,
    check_event_type,
    check_limit,
    check_once_key,
    decode_cursor,
    encode_cursor,
    encode_event_data,
    encode_header,
    listing_filter,
    make_event,
)
from apps.agent_core.store.dynamodb_append import EventAppender
from apps.agent_core.store.dynamodb_errors import error_code, retry_conflicts, store_errors
from apps.agent_core.store.dynamodb_items import SEQ_DIGITS, Item, event_sk, header_of, pk, run_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

__all__ = ["BY_CREATED", "BY_STATUS", "DynamoDBRunStore", "create_table", "created_key"]

T = TypeVar("T")

BY_CREATED = "by_created"
BY_STATUS = "by_status"
_ALL = "RUN"
MAX_EVENTS_LIMIT = 10_000
# DynamoDB pages stop at 1 MB; this bounds the pages one call reads (headers are far smaller).
_MAX_QUERY_PAGES = 50
_NAMES = {"#status": "status", "#version": "version", "#header": "header"}


def created_key(created_at: float, run_id: str) -> str:
    """The index sort key: fixed-width microseconds sort as strings in time order."""
    return f"{round(created_at * 1_000_000):020d}#{run_id}"


class DynamoDBRunStore:
    """``RunStore`` on the DynamoDB table ``table_name``, through a boto3 client the caller made."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        clock: Callable[[], float] = time.time,
        close_client: bool = False,
    ) -> None:
        if not table_name:
            raise ValueError("table_name must not be empty")
        self._table = table_name
        self._client = client
        self._clock = clock
        self._close_client = close_client
        self._appender = EventAppender(client, table_name, clock)

    @property
    def table_name(self) -> str:
        return self._table

    async def create(self, header: RunHeader) -> None:
        item: Item = {
            **run_key(header.id),
            "header": {"S": encode_header(header)},
            "status": {"S": header.status},
            "created_key": {"S": created_key(header.created_at, header.id)},
            "gsi_all": {"S": _ALL},
            "version": {"N": str(header.version)},
            "next_seq": {"N": "0"},
        }
        if header.lease_owner is not None and header.lease_expires_at is not None:
            item |= {"lease_owner": {"S": header.lease_owner}, "lease_expires_at": {"N": repr(header.lease_expires_at)}}
        if header.trigger.kind != "api":  # a run's trigger never changes: written once, here
            item["trigger_kind"] = {"S": header.trigger.kind}

        def work() -> None:
            try:
                self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise RunExists(f"a run with id {header.id!r} already exists") from exc
                raise

        await self._call(work)

    async def get(self, run_id: str) -> RunHeader | None:
        return await self._call(partial(self._get, run_id))

    async def update(self, header: RunHeader) -> RunHeader:
        stored = header.model_copy(update={"version": header.version + 1})
        text = encode_header(stored)

        values: dict[str, AttributeValueTypeDef] = {
            ":header": {"S": text},
            ":status": {"S": stored.status},
            ":ck": {"S": created_key(stored.created_at, stored.id)},
            ":new": {"N": str(stored.version)},
            ":old": {"N": str(header.version)},
        }
        expression = "SET #header = :header, #status = :status, created_key = :ck, #version = :new"
        if stored.lease_owner is not None and stored.lease_expires_at is not None:
            expression += ", lease_owner = :owner, lease_expires_at = :until"
            values |= {":owner": {"S": stored.lease_owner}, ":until": {"N": repr(stored.lease_expires_at)}}
        else:
            expression += " REMOVE lease_owner, lease_expires_at"

        def work() -> None:
            try:
                # UpdateItem, not PutItem: a put would reset next_seq under concurrent appends.
                retry_conflicts(
                    lambda: self._client.update_item(
                        TableName=self._table,
                        Key=run_key(header.id),
                        UpdateExpression=expression,
                        ConditionExpression="#version = :old",
                        ExpressionAttributeNames=_NAMES,
                        ExpressionAttributeValues=values,
                    )
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                if self._get(header.id) is None:
                    raise RunNotFound(f"run {header.id!r} does not exist") from exc
                raise VersionConflict(f"run {header.id!r} changed since version {header.version} was read") from exc

        await self._call(work)
        return stored

    async def list(
        self,
        *,
        status: RunStatus | None = None,
        trigger: TriggerKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunPage:
        check_limit(limit)
        filters = listing_filter(status, trigger)
        after = decode_cursor(cursor, filters) if cursor is not None else None
        request: QueryInputTypeDef = {"TableName": self._table, "ScanIndexForward": False}
        if status is None:
            request |= {
                "IndexName": BY_CREATED,
                "KeyConditionExpression": "gsi_all = :all",
                "ExpressionAttributeValues": {":all": {"S": _ALL}},
            }
        else:
            request |= {
                "IndexName": BY_STATUS,
                "KeyConditionExpression": "#status = :status",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":status": {"S": status}},
            }
        if after is not None:
            # The position in the cursor is rebuilt into the index key DynamoDB resumes from.
            start = {**run_key(after.run_id), "created_key": {"S": created_key(after.created_at, after.run_id)}}
            start["gsi_all" if status is None else "status"] = {"S": _ALL if status is None else status}
            request["ExclusiveStartKey"] = start
        if trigger is not None:
            # A filter, not an index: DynamoDB reads the index's items and returns those that match, so a
            # page may need several requests (bounded below, with a cursor when cut short).
            names = request.get("ExpressionAttributeNames", {})
            values = request["ExpressionAttributeValues"]
            request["ExpressionAttributeNames"] = {**names, "#trigger": "trigger_kind"}
            request["ExpressionAttributeValues"] = {**values, ":trigger": {"S": trigger}}
            request["FilterExpression"] = (
                "attribute_not_exists(#trigger) OR #trigger = :trigger" if trigger == "api" else "#trigger = :trigger"
            )

        def work() -> tuple[builtins.list[Item], bool]:
            items: builtins.list[Item] = []
            for _ in range(_MAX_QUERY_PAGES):
                # One beyond the page says whether there is a next page, so the last page has no cursor.
                request["Limit"] = limit + 1 - len(items)
                page = self._client.query(**request)
                items.extend(page.get("Items", []))
                last = page.get("LastEvaluatedKey")
                if len(items) > limit or not last:
                    return items, False
                request["ExclusiveStartKey"] = last
            return items, True

        items, truncated = await self._call(work)
        runs = [header_of(item) for item in items[:limit]]
        next_cursor = None
        if runs and (len(items) > limit or truncated):
            next_cursor = encode_cursor(Position(runs[-1].created_at, runs[-1].id), filters)
        return RunPage(runs=runs, next_cursor=next_cursor)

    async def append_event(
        self,
        run_id: str,
        type: EventType,
        data: dict[str, Any],
        *,
        lease_owner: str | None = None,
        once: str | None = None,
    ) -> RunEvent:
        check_event_type(type)
        if once is not None:
            check_once_key(once)
        text = encode_event_data(data)
        return await self._call(partial(self._appender.append, run_id, type, text, lease_owner=lease_owner, once=once))

    async def events(self, run_id: str, *, after: int = 0, limit: int = 1000) -> builtins.list[RunEvent]:
        check_limit(limit, MAX_EVENTS_LIMIT)
        first = max(after, 0) + 1
        if first >= 10**SEQ_DIGITS:
            return []
        # BETWEEN, not ">": the header's sort key ("HEADER") sorts after every "EVENT#…".
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": pk(run_id)},
                ":first": {"S": event_sk(first)},
                ":last": {"S": event_sk(10**SEQ_DIGITS - 1)},
            },
            "ConsistentRead": True,
        }

        def work() -> builtins.list[Item]:
            items: builtins.list[Item] = []
            # Until the page is full or the run has no more events, never fewer (callers stop at a short
            # page). Each DynamoDB page holds at least one item (an item is under its 1 MB page), so this
            # ends within ``limit`` requests.
            for _ in range(limit):
                request["Limit"] = limit - len(items)
                page = self._client.query(**request)
                items.extend(page.get("Items", []))
                last = page.get("LastEvaluatedKey")
                if len(items) >= limit or not last:
                    break
                request["ExclusiveStartKey"] = last
            return items

        items = await self._call(work)
        return [
            make_event(run_id, int(item["seq"]["N"]), item["type"]["S"], item["data"]["S"], float(item["at"]["N"]))
            for item in items
        ]

    async def expired_leases(self, now: float, *, limit: int = 50) -> builtins.list[RunHeader]:
        check_limit(limit)

        def work() -> builtins.list[Item]:
            items: builtins.list[Item] = []
            for status in ACTIVE_STATUSES:
                request: QueryInputTypeDef = {
                    "TableName": self._table,
                    "IndexName": BY_STATUS,
                    "KeyConditionExpression": "#status = :status",
                    "FilterExpression": "attribute_not_exists(lease_expires_at) OR lease_expires_at < :now",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":status": {"S": status}, ":now": {"N": repr(now)}},
                }
                for _ in range(_MAX_QUERY_PAGES):
                    page = self._client.query(**request)
                    items.extend(page.get("Items", []))
                    last = page.get("LastEvaluatedKey")
                    if len(items) >= limit or not last:
                        break
                    request["ExclusiveStartKey"] = last
            return items

        headers = [header_of(item) for item in await self._call(work)]
        headers.sort(key=lambda h: (h.lease_expires_at or 0.0, h.created_at))
        return headers[:limit]

    async def claim(self, key: str, holder: str, *, now: float, ttl_seconds: float | None = None) -> bool:
        check_claim_key(key)
        item: Item = {"pk": {"S": f"CLAIM#{key}"}, "sk": {"S": "CLAIM"}, "holder": {"S": holder}}
        if ttl_seconds is not None:
            item["expires_at"] = {"N": repr(now + ttl_seconds)}

        def work() -> bool:
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                    ExpressionAttributeValues={":now": {"N": repr(now)}},
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    return False
                raise
            return True

        return await self._call(work)

    async def check(self) -> None:
        def work() -> None:
            table = self._client.describe_table(TableName=self._table)["Table"]
            status = table.get("TableStatus")
            if status not in ("ACTIVE", "UPDATING"):
                raise StoreError(f"the run store's DynamoDB table {self._table!r} is {status}, not ACTIVE")
            keys = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", [])}
            indexes = {index.get("IndexName") for index in table.get("GlobalSecondaryIndexes", [])}
            if keys != {"pk": "HASH", "sk": "RANGE"} or not {BY_CREATED, BY_STATUS} <= indexes:
                raise StoreError(
                    f"the run store's DynamoDB table {self._table!r} does not have the expected schema "
                    f"(keys pk/sk and indexes {BY_CREATED}, {BY_STATUS}); see apps/agent_core/store/dynamodb.py"
                )

        await self._call(work)

    async def close(self) -> None:
        if self._close_client:
            self._client.close()

    # -- plumbing -------------------------------------------------------------------------------

    def _get(self, run_id: str) -> RunHeader | None:
        item = self._client.get_item(TableName=self._table, Key=run_key(run_id), ConsistentRead=True).get("Item")
        return None if item is None else header_of(item)

    async def _call(self, work: Callable[[], T]) -> T:
        # boto3 blocks; its clients are thread-safe, so calls run in anyio's worker threads.
        return await anyio.to_thread.run_sync(partial(self._guarded, work))

    def _guarded(self, work: Callable[[], T]) -> T:
        with store_errors(self._table):
            return work()


def create_table(client: DynamoDBClient, table_name: str, *, wait: bool = True) -> None:
    """Create the table exactly as documented above (tests, ``make dev``-style local setups)."""
    with store_errors(table_name):
        client.create_table(
            TableName=table_name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("pk", "sk", "gsi_all", "status", "created_key")
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": name,
                    "KeySchema": [
                        {"AttributeName": partition, "KeyType": "HASH"},
                        {"AttributeName": "created_key", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for name, partition in ((BY_CREATED, "gsi_all"), (BY_STATUS, "status"))
            ],
        )
        if wait:
            client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
