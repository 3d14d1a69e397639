"""The custom MCP server: weather from wttr.in and a key/value store (memory, a SQLite file, or DynamoDB)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio.to_thread
import boto3
from starlette.applications import Starlette

from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.common.settings import ConfigurationError
from apps.common.tools import ToolError
from apps.mcp_custom.capabilities import CustomCapabilities
from apps.mcp_custom.kv_dynamodb import DynamoDBKeyValueStore
from apps.mcp_custom.kv_memory import MemoryKeyValueStore
from apps.mcp_custom.kv_sqlite import SqliteKeyValueStore
from apps.mcp_custom.kv_store import KeyValueStore
from apps.mcp_custom.settings import CustomSettings
from apps.mcp_custom.tools import build_tools
from apps.mcp_custom.weather import WeatherClient

SERVICE_NAME = "custom-mcp-service"


def make_store(settings: CustomSettings) -> KeyValueStore:
    """The store ``AGENTIC_KV_STORE`` names; a SQLite file that cannot be opened fails the start, naming it."""
    path = settings.sqlite_path
    if path is not None:
        try:
            return SqliteKeyValueStore(
                path,
                namespace=settings.kv_namespace,
                max_total_bytes=settings.kv_max_total_bytes,
                max_value_bytes=settings.kv_max_value_bytes,
            )
        except ToolError as exc:
            raise ConfigurationError(f"AGENTIC_KV_STORE: {exc}") from None
    table = settings.dynamodb_table
    if table is None:
        return MemoryKeyValueStore(
            max_total_bytes=settings.kv_max_total_bytes, max_value_bytes=settings.kv_max_value_bytes
        )
    # No endpoint_url: boto3 reads AWS_ENDPOINT_URL(_DYNAMODB) itself, so LocalStack or moto can stand in.
    return DynamoDBKeyValueStore(
        table, boto3.client("dynamodb"), namespace=settings.kv_namespace, max_value_bytes=settings.kv_max_value_bytes
    )


def create_app(settings: CustomSettings) -> Starlette:
    weather = WeatherClient(
        settings.weather_base_url,
        timeout_seconds=settings.weather_timeout_seconds,
        cache_ttl_seconds=settings.weather_cache_seconds,
    )
    store = make_store(settings)

    async def store_ready() -> None:
        await anyio.to_thread.run_sync(store.check)

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        try:
            yield
        finally:
            await weather.aclose()
            await anyio.to_thread.run_sync(store.close)

    tools = build_tools(weather, store)
    spec = McpServerSpec(
        name="custom",
        service=SERVICE_NAME,
        version="1.0.0",
        instructions="Current weather and forecasts for a place, and a small JSON key/value store.",
        tools=tools,
        readiness={"kv_store": store_ready},
        lifespan=lifespan,
        capabilities=CustomCapabilities(settings, tools=[tool.tool_name for tool in tools]),
    )
    return create_mcp_app(spec, settings)
