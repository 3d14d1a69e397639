"""The key/value store on DynamoDB, shared by every custom-mcp replica.

Table schema (the infrastructure creates exactly this; on-demand billing suits the traffic):

==============  ====  =====================================================================
attribute       type  role
==============  ====  =====================================================================
``namespace``   S     partition key; one namespace per deployment/tenant (default "default")
``key``         S     sort key; the caller's key, so a prefix listing is one Query
``value``       S     the value as compact JSON text (≤ 64 KiB)
``updated_at``  S     ISO 8601 UTC time of the last write
``expires_at``  N     epoch seconds; the table's TTL attribute. Absent when the item has no TTL
==============  ====  =====================================================================

DynamoDB deletes expired items lazily (often hours later), so every read filters on ``expires_at``.
Reads are strongly consistent so a value written through one replica is read back through another.

``create`` is one conditional ``PutItem`` (``attribute_not_exists(#k) OR #exp <= :now``): DynamoDB
checks and writes atomically, so of two replicas creating the same key at once exactly one wins and the
other gets ``ConditionalCheckFailedException`` (raised as ``KeyExistsError``); an expired item that
DynamoDB has not yet swept counts as absent, as it does for reads. ``replace`` is a plain ``PutItem``.

IAM actions the service needs on the table: ``dynamodb:PutItem``, ``dynamodb:GetItem``,
``dynamodb:Query`` and ``dynamodb:DescribeTable`` (readiness).

botocore failures become ``ToolError`` with a message naming the cause (missing table, access
denied, throttling, no credentials, unreachable endpoint); boto3's own retries run first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from apps.common.tools import ToolError
from apps.mcp_custom.kv_store import (
    MAX_VALUE_BYTES,
    JsonValue,
    KeyExistsError,
    StoredItem,
    decode_value,
    encode_value,
    expiry_epoch,
    iso_utc,
    validate_key,
    validate_limit,
    validate_prefix,
    validate_ttl,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

__all__ = ["DynamoDBKeyValueStore"]

_NAMES = {"#ns": "namespace", "#k": "key", "#exp": "expires_at"}
# The item under this key is absent, or present but expired (DynamoDB's TTL sweep lags by hours).
_ABSENT_OR_EXPIRED = "attribute_not_exists(#k) OR #exp <= :now"
# Pages keep going past expired-but-undeleted items; this bounds one list_keys call.
_MAX_QUERY_PAGES = 20
_ACCESS_CODES = frozenset(
    {"AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"}
)
_THROTTLE_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})


class DynamoDBKeyValueStore:
    """``KeyValueStore`` on one DynamoDB table, scoped to ``namespace``."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        namespace: str = "default",
        *,
        page_size: int = 500,
        max_value_bytes: int = MAX_VALUE_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not table_name:
            raise ValueError("table_name must not be empty")
        validate_key(namespace)
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._table = table_name
        self._client = client
        self._namespace = namespace
        self._page_size = page_size
        self._max_value_bytes = max_value_bytes
        self._clock = clock

    @property
    def table_name(self) -> str:
        return self._table

    def create(self, key: str, value: JsonValue, ttl_seconds: int | None = None) -> StoredItem:
        return self._write(key, value, ttl_seconds, overwrite=False)

    def replace(self, key: str, value: JsonValue, ttl_seconds: int | None = None) -> StoredItem:
        return self._write(key, value, ttl_seconds, overwrite=True)

    def _write(self, key: str, value: JsonValue, ttl_seconds: int | None, *, overwrite: bool) -> StoredItem:
        validate_key(key)
        ttl = validate_ttl(ttl_seconds)
        text = encode_value(value, self._max_value_bytes)
        now = self._clock()
        updated_at = iso_utc(now)
        expires_at = expiry_epoch(now, ttl)
        item: dict[str, AttributeValueTypeDef] = {
            "namespace": {"S": self._namespace},
            "key": {"S": key},
            "value": {"S": text},
            "updated_at": {"S": updated_at},
        }
        if expires_at is not None:
            item["expires_at"] = {"N": str(expires_at)}
        if overwrite:
            with self._errors():
                self._client.put_item(TableName=self._table, Item=item)
        else:
            try:
                with self._errors():
                    self._client.put_item(
                        TableName=self._table,
                        Item=item,
                        ConditionExpression=_ABSENT_OR_EXPIRED,
                        ExpressionAttributeNames={"#k": "key", "#exp": "expires_at"},
                        ExpressionAttributeValues={":now": {"N": str(int(now))}},
                    )
            except ToolError as exc:
                if _error_code(exc.__cause__) == "ConditionalCheckFailedException":
                    raise KeyExistsError(key) from None
                raise
        return StoredItem(key=key, value=decode_value(text), updated_at=updated_at, expires_at=expires_at)

    def get(self, key: str) -> StoredItem | None:
        validate_key(key)
        with self._errors():
            response = self._client.get_item(
                TableName=self._table,
                Key={"namespace": {"S": self._namespace}, "key": {"S": key}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        if item is None:
            return None
        expires_at = _int_attr(item.get("expires_at"))
        if expires_at is not None and self._clock() >= expires_at:
            return None
        try:
            value = decode_value(item["value"]["S"])
        except (KeyError, ValueError) as exc:
            raise ToolError(f"the stored item {key!r} is damaged (its value is not JSON); store it again") from exc
        updated_at = item.get("updated_at", {}).get("S", "")
        return StoredItem(key=key, value=value, updated_at=updated_at, expires_at=expires_at)

    def list_keys(self, prefix: str = "", limit: int = 100) -> tuple[list[str], bool]:
        validate_prefix(prefix)
        validate_limit(limit)
        names = dict(_NAMES)
        values: dict[str, AttributeValueTypeDef] = {
            ":ns": {"S": self._namespace},
            ":now": {"N": str(int(self._clock()))},
        }
        condition = "#ns = :ns"
        # begins_with with an empty string is a ValidationException; no prefix means the whole namespace.
        if prefix:
            condition += " AND begins_with(#k, :prefix)"
            values[":prefix"] = {"S": prefix}
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            # Expired items may linger until DynamoDB's TTL sweep gets to them.
            "FilterExpression": "attribute_not_exists(#exp) OR #exp > :now",
            "ProjectionExpression": "#k",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        keys: list[str] = []
        more = False
        for _ in range(_MAX_QUERY_PAGES):
            # One beyond the limit tells us whether the listing is truncated.
            request["Limit"] = min(self._page_size, limit + 1 - len(keys))
            with self._errors():
                page = self._client.query(**request)
            keys.extend(item["key"]["S"] for item in page.get("Items", []) if "S" in item.get("key", {}))
            last = page.get("LastEvaluatedKey")
            more = bool(last)
            if len(keys) > limit or not last:
                break
            request["ExclusiveStartKey"] = last
        # A listing that ran out of pages while DynamoDB still had more is reported as truncated.
        return keys[:limit], len(keys) > limit or more

    def check(self) -> None:
        with self._errors():
            table = self._client.describe_table(TableName=self._table)["Table"]
        status = table.get("TableStatus")
        if status not in ("ACTIVE", "UPDATING"):
            raise ToolError(f"DynamoDB table {self._table!r} is {status}, not ACTIVE")
        schema = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", [])}
        if schema != {"namespace": "HASH", "key": "RANGE"}:
            raise ToolError(
                f"DynamoDB table {self._table!r} has key schema {schema}; expected partition key 'namespace' "
                "and sort key 'key'"
            )

    def close(self) -> None:
        """Nothing to release: the client is the caller's."""

    @contextmanager
    def _errors(self) -> Iterator[None]:
        table = self._table
        try:
            yield
        except ClientError as exc:
            error: Any = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            retryable = False
            if code == "ResourceNotFoundException":
                message = f"the key/value store's DynamoDB table {table!r} does not exist; the server is misconfigured"
            elif code in _ACCESS_CODES:
                message = f"access to DynamoDB table {table!r} was denied ({code}); check the service's IAM role"
            elif code in _THROTTLE_CODES:
                message = "the key/value store is busy (DynamoDB throttled the request); try again shortly"
                retryable = True
            elif code == "ValidationException":
                message = f"DynamoDB rejected the request: {error.get('Message', code)}"
            else:
                message = f"the key/value store failed ({code or 'unknown error'}); try again later"
                retryable = True
            raise ToolError(message, retryable=retryable) from exc
        except NoCredentialsError as exc:
            raise ToolError("the key/value store has no AWS credentials; the server is misconfigured") from exc
        except NoRegionError as exc:
            raise ToolError("the key/value store has no AWS region configured (set AWS_REGION)") from exc
        except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
            raise ToolError(
                "could not reach DynamoDB for the key/value store; try again later", retryable=True
            ) from exc
        except BotoCoreError as exc:
            raise ToolError(
                f"the key/value store failed ({type(exc).__name__}); try again later", retryable=True
            ) from exc


def _error_code(exc: BaseException | None) -> str:
    if not isinstance(exc, ClientError):
        return ""
    error: Any = exc.response.get("Error", {})
    return str(error.get("Code", ""))


def _int_attr(attribute: AttributeValueTypeDef | None) -> int | None:
    if attribute is None or "N" not in attribute:
        return None
    try:
        return int(float(attribute["N"]))
    except ValueError:
        return None
