"""Which store ``AGENTIC_KV_STORE`` gives the server, and the SQLite one kept across a real restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import ValidationError

from apps.common.settings import ConfigurationError
from apps.mcp_custom.kv_dynamodb import DynamoDBKeyValueStore
from apps.mcp_custom.kv_memory import MemoryKeyValueStore
from apps.mcp_custom.kv_sqlite import SqliteKeyValueStore
from apps.mcp_custom.server import make_store
from apps.mcp_custom.settings import CustomSettings
from tests.support.processes import run_service
from tests.support.servers import mcp_client


@pytest.mark.parametrize(
    ("url", "path"),
    [("sqlite:///var/kv.db", Path("var/kv.db")), ("sqlite:////tmp/x/kv.db", Path("/tmp/x/kv.db"))],
)
def test_sqlite_urls_name_a_relative_or_absolute_file(url: str, path: Path) -> None:
    settings = CustomSettings(kv_store=url)
    assert (settings.sqlite_path, settings.dynamodb_table) == (path, None)


@pytest.mark.parametrize(
    "url", ["sqlite:///", "sqlite:////", "sqlite:///:memory:", "sqlite:///kv.db?mode=ro", "sqlite://kv.db", "redis://x"]
)
def test_other_store_urls_are_refused_naming_the_accepted_forms(url: str) -> None:
    with pytest.raises(ValidationError, match=r"must be 'memory', 'sqlite:///<relative path>'"):
        CustomSettings(kv_store=url)


def test_each_url_gives_its_backend(tmp_path: Path, aws_env: str) -> None:
    assert isinstance(make_store(CustomSettings(kv_store="memory")), MemoryKeyValueStore)
    assert isinstance(make_store(CustomSettings(kv_store="dynamodb://kv")), DynamoDBKeyValueStore)
    sqlite = make_store(CustomSettings(kv_store=f"sqlite:///{tmp_path / 'kv.db'}", kv_namespace="blue"))
    assert isinstance(sqlite, SqliteKeyValueStore) and sqlite.path == tmp_path / "kv.db"
    sqlite.close()


def test_a_sqlite_file_that_cannot_be_opened_fails_the_start_naming_the_variable(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigurationError, match=r"AGENTIC_KV_STORE: cannot create the directory .*a-file"):
        make_store(CustomSettings(kv_store=f"sqlite:///{tmp_path / 'a-file' / 'kv.db'}"))


async def call(url: str, tool: str, arguments: dict[str, Any]) -> Any:
    async with mcp_client(url + "/mcp", "2026-07-28") as client:
        return await client.call_tool(tool, arguments)


def test_stored_keys_survive_a_restart_of_the_server_process(tmp_path: Path) -> None:
    env = {"AGENTIC_KV_STORE": f"sqlite:///{tmp_path / 'kv.db'}", "AGENTIC_LOG_LEVEL": "WARNING"}
    with run_service("apps.mcp_custom", env, log_path=tmp_path / "first.log") as first:
        stored = anyio.run(call, first.url, "store_data", {"key": "notes/plan", "value": {"steps": [1, 2]}})
        assert stored.is_error is False, stored.content
    assert first.process.returncode is not None  # stopped: nothing of it is left in memory

    with run_service("apps.mcp_custom", env, log_path=tmp_path / "second.log") as second:
        got = anyio.run(call, second.url, "get_data", {"key": "notes/plan"})
        listed = anyio.run(call, second.url, "list_keys", {})
        again = anyio.run(call, second.url, "store_data", {"key": "notes/plan", "value": "overwritten"})
    assert got.structured_content["found"] is True
    assert got.structured_content["value"] == {"steps": [1, 2]}
    assert got.structured_content["updated_at"] == stored.structured_content["updated_at"]
    assert listed.structured_content == {"keys": ["notes/plan"], "truncated": False}
    assert again.is_error is True and "already holds a value" in again.content[0].text
