"""Run store fixtures for the agent core's tests: a test taking ``store`` runs on SQLite and on DynamoDB (moto)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config

from apps.agent_core.store.base import RunStore
from apps.agent_core.store.dynamodb import DynamoDBRunStore, create_table
from apps.agent_core.store.sqlite import SqliteRunStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

BACKENDS = ["sqlite", "dynamodb"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def dynamodb(aws_env: str) -> DynamoDBClient:
    # A pool as wide as anyio's worker threads, as open_store configures it.
    return boto3.client("dynamodb", config=Config(max_pool_connections=50))


@pytest.fixture
def table(dynamodb: DynamoDBClient) -> str:
    name = f"runs-{uuid.uuid4().hex[:12]}"
    create_table(dynamodb, name)
    return name


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The ``AGENTIC_STATE`` URL of a fresh store of the parametrized backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"  # tmp_path is absolute: four slashes
    request.getfixturevalue("aws_env")
    dynamodb: DynamoDBClient = request.getfixturevalue("dynamodb")
    name = f"runs-{uuid.uuid4().hex[:12]}"
    create_table(dynamodb, name)
    return f"dynamodb://{name}"


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunStore]:
    backend: RunStore
    if request.param == "sqlite":
        backend = SqliteRunStore(tmp_path / "runs.db")
    else:
        request.getfixturevalue("aws_env")
        backend = DynamoDBRunStore(request.getfixturevalue("table"), request.getfixturevalue("dynamodb"))
    try:
        yield backend
    finally:
        await backend.close()
