"""Configuration of the custom MCP server (``AGENTIC_*`` variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from apps.common.settings import McpServerSettings
from apps.mcp_custom.kv_store import DEFAULT_MAX_TOTAL_BYTES, MAX_VALUE_BYTES

DYNAMODB_SCHEME = "dynamodb://"
# SQLAlchemy's convention, as AGENTIC_STATE: sqlite:///relative/path.db, sqlite:////absolute/path.db.
SQLITE_SCHEME = "sqlite:///"


class CustomSettings(McpServerSettings):
    weather_base_url: str = "https://wttr.in"
    """The wttr.in-compatible weather service ``get_weather`` asks."""
    weather_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    """How long ``get_weather`` waits for the weather service; past it the call fails, asking to try again later."""
    weather_cache_seconds: float = Field(default=600, ge=0, le=86_400)
    """How long a place's weather is reused before the service is asked again; 0: never reused."""
    kv_store: str = "memory"
    """``memory`` (one process, lost when it stops), ``sqlite:///path`` (one machine, kept across restarts;
    ``make dev`` uses ``sqlite:///var/kv.db``) or ``dynamodb://<table>`` (shared by every replica; the cluster's)."""
    kv_namespace: str = Field(default="default", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    """The partition of the DynamoDB table or SQLite file this server's keys live in, so deployments can share one."""
    kv_max_value_bytes: int = Field(default=MAX_VALUE_BYTES, ge=1, le=350 * 1024)
    """Largest value, as compact UTF-8 JSON; bounded by 350 KiB as a DynamoDB item (key and all) stops at 400 KB."""
    kv_max_total_bytes: int = Field(default=DEFAULT_MAX_TOTAL_BYTES, ge=1024, le=16 * 1024**3)
    """Bound on keys and values together in the memory store (its process's RAM) and the SQLite store (the whole
    file, every namespace: the machine's disk); writes past it are refused, never evicted. DynamoDB has no bound."""

    @field_validator("kv_store")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value == "memory" or (value.startswith(DYNAMODB_SCHEME) and len(value) > len(DYNAMODB_SCHEME)):
            return value
        path = value.removeprefix(SQLITE_SCHEME)
        if value.startswith(SQLITE_SCHEME) and path.strip("/") and path != ":memory:" and "?" not in path:
            return value
        raise ValueError(
            "must be 'memory', 'sqlite:///<relative path>', 'sqlite:////<absolute path>' or 'dynamodb://<table name>'"
        )

    @property
    def dynamodb_table(self) -> str | None:
        return self.kv_store.removeprefix(DYNAMODB_SCHEME) if self.kv_store.startswith(DYNAMODB_SCHEME) else None

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.kv_store.removeprefix(SQLITE_SCHEME)) if self.kv_store.startswith(SQLITE_SCHEME) else None
