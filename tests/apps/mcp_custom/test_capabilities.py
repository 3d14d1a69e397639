"""The custom server's capability statuses: where the key/value store keeps keys, and which weather service answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from apps.common.capabilities import CAPABILITIES_META, UNAVAILABLE_META
from apps.mcp_custom.server import create_app
from apps.mcp_custom.settings import CustomSettings
from tests.support.servers import mcp_client, serve_in_thread


def listed(settings: CustomSettings) -> Any:
    async def scenario(url: str) -> Any:
        async with mcp_client(url + "/mcp", "2026-07-28") as client:
            return await client.list_tools()

    with serve_in_thread(create_app(settings)) as url:
        return anyio.run(scenario, url)


@pytest.mark.parametrize(
    ("store", "says"),
    [("memory", "lost when this process stops"), ("sqlite", "kept across restarts")],
)
def test_the_store_says_whether_keys_survive_a_restart(store: str, says: str, tmp_path: Path) -> None:
    kv_store = "memory" if store == "memory" else f"sqlite:///{tmp_path / 'kv.db'}"
    result = listed(CustomSettings(kv_store=kv_store, weather_base_url="http://127.0.0.1:9/"))

    statuses = {entry["name"]: entry for entry in result.meta[CAPABILITIES_META]}
    kv = statuses["key/value store"]
    assert kv["ok"] is True and says in kv["detail"] and kv["setting"] == "AGENTIC_KV_STORE"
    assert set(kv["tools"]) == {"store_data", "replace_data", "get_data", "list_keys"}
    assert statuses["weather service"]["detail"].startswith("http://127.0.0.1:9/")
    assert not any(UNAVAILABLE_META in (tool.meta or {}) for tool in result.tools)
