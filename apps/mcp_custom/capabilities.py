"""What the custom server's tools need: where the key/value store keeps its data, and which weather service answers.

Both are always usable, so both are ok; what they say matters anyway: a store ``in memory`` loses every key when
the process stops, which is the difference between a demo and a deployment. Nothing here is probed: the store's
own check is readiness's, and the weather service is asked on each call (its failures come back as tool errors).
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.common.capabilities import Capability
from apps.common.settings import env_name
from apps.mcp_custom.settings import CustomSettings

__all__ = ["CustomCapabilities"]

KV_TOOLS = ("store_data", "replace_data", "get_data", "list_keys")
WEATHER_TOOLS = ("get_weather",)


class CustomCapabilities:
    """A ``CapabilityCheck`` built once from the settings: nothing it reports changes while the server runs."""

    def __init__(self, settings: CustomSettings, *, tools: Sequence[str]) -> None:
        listed = set(tools)
        self._statuses = [
            Capability(
                name="key/value store",
                ok=True,
                detail=_store_detail(settings),
                setting=env_name("kv_store"),
                tools=tuple(tool for tool in KV_TOOLS if tool in listed),
            ),
            Capability(
                name="weather service",
                ok=True,
                detail=f"{settings.weather_base_url} (asked on each call, not probed)",
                setting=env_name("weather_base_url"),
                tools=tuple(tool for tool in WEATHER_TOOLS if tool in listed),
            ),
        ]

    async def __call__(self) -> list[Capability]:
        return list(self._statuses)


def _store_detail(settings: CustomSettings) -> str:
    if settings.sqlite_path is not None:
        return f"SQLite file {settings.sqlite_path}: kept across restarts on this machine"
    if settings.dynamodb_table is not None:
        return f"DynamoDB table {settings.dynamodb_table}: shared by every replica"
    return "in memory: every key is lost when this process stops"
