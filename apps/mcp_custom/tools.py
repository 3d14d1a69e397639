"""The custom server's tools: weather by place name, and a small shared key/value store.

Parameter annotations become the tools' input schemas and the return models their output schemas,
so the bounds below are what a model sees. The store tools are synchronous (the SDK runs them in a
worker thread, which suits boto3); get_weather is async.

Writing is split by risk. ``store_data`` only creates: it cannot change anything already stored, so it
is annotated non-destructive and runs without asking. ``replace_data`` overwrites what someone else may
rely on, so it is annotated destructive and the agent core asks a person first. A model talked into
overwriting a shared key (a prompt injection in a value it read) gets an error from ``store_data`` and
an approval request from ``replace_data``, never a silent overwrite.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from apps.common.tools import ToolDef
from apps.mcp_custom.kv_store import (
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    MAX_LIST_LIMIT,
    MAX_TTL_SECONDS,
    PREFIX_PATTERN,
    JsonValue,
    KeyValueStore,
    StoredItem,
)
from apps.mcp_custom.weather import MAX_LOCATION_LENGTH, WeatherClient, WeatherSummary

__all__ = ["GetDataResult", "KeyListResult", "StoreDataResult", "build_tools"]

_KEY_RULES = "letters, digits and . _ : / @ -; starts with a letter or digit; no '..' or '//'"

# Annotations are resolved from this module's globals when the SDK builds the schemas, so they live here.
LocationArg = Annotated[
    str,
    Field(
        description="Place name, optionally with region or country, e.g. 'London' or 'São Paulo, Brazil'",
        min_length=1,
        max_length=MAX_LOCATION_LENGTH,
    ),
]
KeyArg = Annotated[
    str,
    Field(
        description="Key: " + _KEY_RULES,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=KEY_PATTERN,
    ),
]
ValueArg = Annotated[
    JsonValue, Field(description="Any JSON value; its compact JSON must fit the store's size limit (64 KiB by default)")
]
TtlArg = Annotated[
    int | None,
    Field(description="Seconds until the value expires (at most 30 days); omit to keep it", ge=1, le=MAX_TTL_SECONDS),
]
PrefixArg = Annotated[
    str,
    Field(description="Only keys starting with this; empty for all", max_length=MAX_KEY_LENGTH, pattern=PREFIX_PATTERN),
]
LimitArg = Annotated[int, Field(description="Maximum number of keys to return", ge=1, le=MAX_LIST_LIMIT)]


class StoreDataResult(BaseModel):
    key: str
    updated_at: str = Field(description="ISO 8601 UTC time of this write")
    expires_at: str | None = Field(description="ISO 8601 UTC expiry, or null when the value does not expire")


class GetDataResult(BaseModel):
    key: str
    found: bool = Field(description="False when nothing is stored under the key or it has expired")
    value: JsonValue = Field(default=None, description="The stored JSON value; null when not found")
    updated_at: str | None = None
    expires_at: str | None = None


class KeyListResult(BaseModel):
    keys: list[str] = Field(description="Matching keys in ascending order")
    truncated: bool = Field(description="True when more keys match than were returned")


def build_tools(weather: WeatherClient, store: KeyValueStore) -> list[ToolDef]:
    async def get_weather(location: LocationArg) -> WeatherSummary:
        return await weather.summary(location)

    def store_data(key: KeyArg, value: ValueArg, ttl_seconds: TtlArg = None) -> StoreDataResult:
        return _stored(store.create(key, value, ttl_seconds))

    def replace_data(key: KeyArg, value: ValueArg, ttl_seconds: TtlArg = None) -> StoreDataResult:
        return _stored(store.replace(key, value, ttl_seconds))

    def get_data(key: KeyArg) -> GetDataResult:
        item = store.get(key)
        if item is None:
            return GetDataResult(key=key, found=False)
        return _found(item)

    def list_keys(prefix: PrefixArg = "", limit: LimitArg = 100) -> KeyListResult:
        keys, truncated = store.list_keys(prefix, limit)
        return KeyListResult(keys=keys, truncated=truncated)

    return [
        ToolDef(
            get_weather,
            "Current weather and a 3-day forecast for a place, from wttr.in. Temperatures in °C, wind in km/h.",
            read_only=True,
            open_world=True,
        ),
        ToolDef(
            store_data,
            "Store a JSON value under a new key; fails if the key already holds a value. Optional expiry in seconds.",
            read_only=False,
            destructive=False,
            # Not idempotent: a second identical call finds the key taken and fails.
            idempotent=False,
        ),
        ToolDef(
            replace_data,
            "Store a JSON value under a key, overwriting any value already there. Optional expiry in seconds.",
            read_only=False,
            destructive=True,
            idempotent=True,
        ),
        ToolDef(get_data, "Read the JSON value stored under a key.", read_only=True),
        ToolDef(list_keys, "List stored keys, optionally only those starting with a prefix.", read_only=True),
    ]


def _stored(item: StoredItem) -> StoreDataResult:
    return StoreDataResult(key=item.key, updated_at=item.updated_at, expires_at=item.expires_at_iso)


def _found(item: StoredItem) -> GetDataResult:
    return GetDataResult(
        key=item.key, found=True, value=item.value, updated_at=item.updated_at, expires_at=item.expires_at_iso
    )
