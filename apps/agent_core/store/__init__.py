"""Opening the run store named by ``AGENTIC_STATE``.

Accepted forms (the SQLite ones follow SQLAlchemy's convention):

- ``sqlite:///relative/path.db`` — a file relative to the working directory;
- ``sqlite:////absolute/path.db`` — an absolute path (four slashes);
- ``dynamodb://table-name`` — a DynamoDB table with the schema in ``dynamodb.py``, reached through
  boto3's default credential chain; the region is ``AWS_REGION``, then ``AWS_DEFAULT_REGION``, then the
  profile's, then us-west-2. Endpoints come from boto3's own ``AWS_ENDPOINT_URL`` variables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from apps.agent_core.store.base import (
    AlreadyRecorded,
    InvalidCursor,
    LeaseLost,
    RunExists,
    RunNotFound,
    RunPage,
    RunStore,
    StoreError,
    VersionConflict,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = [
    "AlreadyRecorded",
    "InvalidCursor",
    "LeaseLost",
    "RunExists",
    "RunNotFound",
    "RunPage",
    "RunStore",
    "StoreError",
    "VersionConflict",
    "dynamodb_client",
    "open_store",
]

SQLITE_PREFIX = "sqlite:///"
DYNAMODB_PREFIX = "dynamodb://"
DEFAULT_REGION = "us-west-2"
_ACCEPTED = "'sqlite:///relative/path.db', 'sqlite:////absolute/path.db' or 'dynamodb://<table name>'"
# DynamoDB's own rule for table names.
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def open_store(url: str) -> RunStore:
    """The store ``url`` names; ``ValueError`` for anything but the accepted forms.

    A SQLite store opens its file (creating it and the schema) here, so a bad path fails at start;
    a DynamoDB store makes no call until used (``check()`` is the readiness probe).
    """
    if url.startswith(SQLITE_PREFIX):
        path = url.removeprefix(SQLITE_PREFIX)
        if not path.strip("/") or path == ":memory:" or "?" in path:
            raise ValueError(f"the run store URL {url!r} names no file; expected {_ACCEPTED}")
        # Imported here so a DynamoDB deployment never loads the SQLite backend, and vice versa.
        from apps.agent_core.store.sqlite import SqliteRunStore

        return SqliteRunStore(Path(path))
    if url.startswith(DYNAMODB_PREFIX):
        table = url.removeprefix(DYNAMODB_PREFIX)
        if not _TABLE_NAME.match(table):
            raise ValueError(
                f"the run store URL {url!r} does not name a DynamoDB table (3-255 of A-Z a-z 0-9 _ . -); "
                f"expected {_ACCEPTED}"
            )
        from apps.agent_core.store.dynamodb import DynamoDBRunStore

        return DynamoDBRunStore(table, dynamodb_client(), close_client=True)
    raise ValueError(f"unsupported run store URL {url!r}; expected {_ACCEPTED}")


def dynamodb_client() -> DynamoDBClient:
    """A DynamoDB client from the default chain, with retries and a connection pool sized for the store."""
    import boto3
    from botocore.config import Config

    session = boto3.Session()
    region = next(
        (
            value.strip()
            for value in (os.environ.get("AWS_REGION"), os.environ.get("AWS_DEFAULT_REGION"), session.region_name)
            if value and value.strip()
        ),
        DEFAULT_REGION,
    )
    config = Config(
        region_name=region,
        # Standard mode retries throttling and transient 5xx with jittered backoff before we see them.
        retries={"mode": "standard", "total_max_attempts": 5},
        connect_timeout=3,
        read_timeout=10,
        # Store calls run in anyio's worker threads (40 by default); a smaller pool churns connections.
        max_pool_connections=50,
        user_agent_extra="agentic-workflows-platform/agent-core",
    )
    return session.client("dynamodb", config=config)
