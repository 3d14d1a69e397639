"""What the key/value tests share: a settable clock, the DynamoDB table the infrastructure creates, and the
worker of the two-process race (a module function, so a spawned process can import it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from apps.mcp_custom.kv_sqlite import SqliteKeyValueStore
from apps.mcp_custom.kv_store import KeyExistsError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

NOW = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def create_table(client: DynamoDBClient, name: str) -> None:
    """Exactly the schema documented in kv_dynamodb.py."""
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "namespace", "AttributeType": "S"},
            {"AttributeName": "key", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "namespace", "KeyType": "HASH"},
            {"AttributeName": "key", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})


def race_creates(path: str, worker: int, keys: int, barrier: Any, results: Any) -> None:
    """Open the file (a new one: both workers create its schema at once), then create ``keys`` keys in step
    with the other worker, which creates the same ones; report the keys this one won."""
    store = SqliteKeyValueStore(Path(path))
    won: list[int] = []
    try:
        for i in range(keys):
            barrier.wait(timeout=60)  # both workers try key i at the same moment
            try:
                store.create(f"race/{i}", worker)
                won.append(i)
            except KeyExistsError:
                pass
    finally:
        store.close()
        results.put((worker, won))
