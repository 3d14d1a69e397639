"""The AWS server's capability status: credentials found by boto3's chain, or not (no network either way)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from apps.common.capabilities import CAPABILITIES_META, UNAVAILABLE_META
from apps.mcp_aws.server import create_app
from apps.mcp_aws.settings import AwsSettings
from tests.support.servers import mcp_client, serve_in_thread


def listed() -> Any:
    async def scenario(url: str) -> Any:
        async with mcp_client(url + "/mcp", "2026-07-28") as client:
            return await client.list_tools()

    with serve_in_thread(create_app(AwsSettings())) as url:
        return anyio.run(scenario, url)


@pytest.mark.usefixtures("no_credentials")
def test_no_credentials_make_every_tool_unavailable_naming_what_to_set() -> None:
    result = listed()

    (credentials,) = result.meta[CAPABILITIES_META]
    assert (credentials["name"], credentials["ok"]) == ("aws credentials", False)
    assert "AWS_ACCESS_KEY_ID" in credentials["setting"]
    assert set(credentials["tools"]) == {tool.name for tool in result.tools}
    for tool in result.tools:
        assert tool.meta[UNAVAILABLE_META]["setting"] == credentials["setting"], tool.name


@pytest.mark.usefixtures("no_credentials")
def test_credentials_in_the_environment_make_the_tools_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    result = listed()

    (credentials,) = result.meta[CAPABILITIES_META]
    assert credentials["ok"] is True
    assert "found" in credentials["detail"]
    assert not any(UNAVAILABLE_META in (tool.meta or {}) for tool in result.tools)
