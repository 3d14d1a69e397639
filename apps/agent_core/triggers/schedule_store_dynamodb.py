"""Schedules in the run store's DynamoDB table (layout of the runs' items in ``store/dynamodb.py``).

Schedule item, ``pk = "SCHEDULE#<id>"``, ``sk = "SCHEDULE"``:

================  ====  ===================================================================
attribute         type  role
================  ====  ===================================================================
``record``        S     the ``ScheduleRecord`` as JSON
``version``       N     incremented by every write; ``update`` is conditional on it
``gsi_all``       S     always ``"SCHEDULE"``: the schedules' own partition of ``by_created``
``created_key``   S     ``<created_at in microseconds, 20 digits>#<id>``, as for runs
================  ====  ===================================================================

Listing reuses the table's ``by_created`` index under its own partition key value (runs use ``"RUN"``), so
schedules need no index of their own and never appear among runs; they have no ``status``, so ``by_status``
never holds them. Index reads are eventually consistent: a schedule just created may take a moment to be listed
(and so to tick); ``get`` and ``update`` read and write the item itself, strongly consistent. Same IAM actions
as the run store, plus ``dynamodb:DeleteItem``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import anyio.to_thread
from botocore.exceptions import ClientError

from apps.agent_core.store.base import VersionConflict
from apps.agent_core.store.dynamodb import BY_CREATED, created_key
from apps.agent_core.store.dynamodb_errors import error_code, store_errors
from apps.agent_core.store.dynamodb_items import Item
from apps.agent_core.triggers.schedule_store import MAX_SCHEDULES, ScheduleExists, ScheduleNotFound
from apps.agent_core.triggers.schedules import ScheduleRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

__all__ = ["DynamoDBScheduleStore"]

T = TypeVar("T")

_PARTITION = "SCHEDULE"
_MAX_QUERY_PAGES = 20


def _key(schedule_id: str) -> Item:
    return {"pk": {"S": f"SCHEDULE#{schedule_id}"}, "sk": {"S": "SCHEDULE"}}


def _record(item: Item) -> ScheduleRecord:
    record = ScheduleRecord.model_validate_json(item["record"]["S"])
    return record.model_copy(update={"version": int(item["version"]["N"])})


class DynamoDBScheduleStore:
    def __init__(self, table_name: str, client: DynamoDBClient, *, close_client: bool = False) -> None:
        self._table = table_name
        self._client = client
        self._close_client = close_client

    async def create(self, record: ScheduleRecord) -> None:
        item: Item = {
            **_key(record.id),
            "record": {"S": record.model_dump_json(exclude={"version"})},
            "version": {"N": str(record.version)},
            "gsi_all": {"S": _PARTITION},
            "created_key": {"S": created_key(record.created_at, record.id)},
        }

        def work() -> None:
            try:
                self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise ScheduleExists(f"a schedule with id {record.id!r} already exists") from exc
                raise

        await self._call(work)

    async def get(self, schedule_id: str) -> ScheduleRecord | None:
        return await self._call(partial(self._get, schedule_id))

    async def list(self) -> list[ScheduleRecord]:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "IndexName": BY_CREATED,
            "KeyConditionExpression": "gsi_all = :partition",
            "ExpressionAttributeValues": {":partition": {"S": _PARTITION}},
        }

        def work() -> list[Item]:
            items: list[Item] = []
            for _ in range(_MAX_QUERY_PAGES):
                page = self._client.query(**request)
                items.extend(page.get("Items", []))
                last = page.get("LastEvaluatedKey")
                if len(items) >= MAX_SCHEDULES or not last:
                    break
                request["ExclusiveStartKey"] = last
            return items[:MAX_SCHEDULES]

        return [_record(item) for item in await self._call(work)]

    async def update(self, record: ScheduleRecord) -> ScheduleRecord:
        stored = record.model_copy(update={"version": record.version + 1})

        def work() -> None:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(record.id),
                    UpdateExpression="SET #record = :record, #version = :new",
                    ConditionExpression="#version = :old",
                    ExpressionAttributeNames={"#record": "record", "#version": "version"},
                    ExpressionAttributeValues={
                        ":record": {"S": stored.model_dump_json(exclude={"version"})},
                        ":new": {"N": str(stored.version)},
                        ":old": {"N": str(record.version)},
                    },
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                if self._get(record.id) is None:
                    raise ScheduleNotFound(f"schedule {record.id!r} does not exist") from exc
                raise VersionConflict(
                    f"schedule {record.id!r} changed since version {record.version} was read"
                ) from exc

        await self._call(work)
        return stored

    async def delete(self, schedule_id: str) -> bool:
        def work() -> bool:
            answer = self._client.delete_item(TableName=self._table, Key=_key(schedule_id), ReturnValues="ALL_OLD")
            return "Attributes" in answer

        return await self._call(work)

    async def close(self) -> None:
        if self._close_client:
            self._client.close()

    def _get(self, schedule_id: str) -> ScheduleRecord | None:
        item = self._client.get_item(TableName=self._table, Key=_key(schedule_id), ConsistentRead=True).get("Item")
        return None if item is None else _record(item)

    async def _call(self, work: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(partial(self._guarded, work))

    def _guarded(self, work: Callable[[], T]) -> T:
        with store_errors(self._table):
            return work()
