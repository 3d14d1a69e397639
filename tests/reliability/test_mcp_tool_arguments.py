"""Tool arguments generated from each tool's own input schema, valid and broken, sent to the real servers.

Valid arguments may fail at the tool (a bucket that does not exist, a place wttr.in does not know): that
is an ``isError`` result, never a JSON-RPC error or a 5xx. Broken arguments (one thing wrong at a time)
must come back as ``isError`` naming the argument at fault, before the tool runs.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.conftest import TOKEN
from tests.reliability.profiles import PROFILES, fuzz_settings
from tests.support import jsonrpc as rpc
from tests.support.fake_kube import FakeKube
from tests.support.json_schema_values import Broken, invalid_arguments, valid_arguments
from tests.support.mcp_fleet import MODULES, Fleet


@pytest.fixture(scope="module")
def catalog(fleet: Fleet, http: httpx.Client) -> dict[tuple[str, str], dict[str, Any]]:
    """(server, tool) → input schema, as each server lists it."""
    schemas = {}
    for server in MODULES:
        listed = rpc.post(http, fleet.mcp_url(server), rpc.request("tools/list"), token=TOKEN).json()
        for tool in listed["result"]["tools"]:
            schemas[(server, tool["name"])] = tool["inputSchema"]
    assert len(schemas) == 16, sorted(schemas)
    return schemas


def tool_result(answer: rpc.Answer) -> dict[str, Any]:
    assert answer.status == 200, answer.describe()
    message = answer.json()
    assert "error" not in message, answer.describe()
    result: dict[str, Any] = message["result"]
    assert isinstance(result.get("content"), list), answer.describe()
    assert "Traceback" not in answer.body.decode()
    return result


@pytest.mark.parametrize("profile", PROFILES)
def test_valid_arguments_get_a_result_never_a_protocol_error(
    fleet: Fleet,
    http: httpx.Client,
    fake_kube: FakeKube,
    catalog: dict[tuple[str, str], dict[str, Any]],
    profile: str,
) -> None:
    keys = sorted(catalog)
    patches_before = fake_kube.scale_patches_applied
    seen: set[tuple[str, str]] = set()

    @fuzz_settings(profile, quick=250, soak=3000)
    @given(data=st.data(), key=st.sampled_from(keys), mode=st.sampled_from(rpc.MODES))
    def fuzz(data: st.DataObject, key: tuple[str, str], mode: str) -> None:
        server, tool = key
        arguments = data.draw(valid_arguments(catalog[key]), label="arguments")
        if tool == "scale_deployment":
            arguments["dry_run"] = True  # the fake cluster's deployments stay as they are for the other tests
        result = tool_result(rpc.call_tool(http, fleet.mcp_url(server), tool, arguments, mode=mode, token=TOKEN))
        seen.add(key)
        if result.get("isError"):
            # A tool may refuse valid arguments (nothing by that name), but never for breaking its schema.
            text = "\n".join(block.get("text", "") for block in result["content"])
            assert not text.startswith(f"Invalid arguments for {tool}"), (arguments, text)
            assert "validation error for" not in text, (arguments, text)

    fuzz()
    assert fake_kube.scale_patches_applied == patches_before
    if profile == "soak":
        assert seen == set(keys), f"never drawn: {sorted(set(keys) - seen)}"


@pytest.mark.parametrize("profile", PROFILES)
def test_broken_arguments_are_refused_naming_the_argument(
    fleet: Fleet, http: httpx.Client, catalog: dict[tuple[str, str], dict[str, Any]], profile: str
) -> None:
    keys = sorted(catalog)

    @fuzz_settings(profile, quick=250, soak=3000)
    @given(data=st.data(), key=st.sampled_from(keys), mode=st.sampled_from(rpc.MODES))
    def fuzz(data: st.DataObject, key: tuple[str, str], mode: str) -> None:
        server, tool = key
        broken: Broken = data.draw(invalid_arguments(catalog[key]), label="broken")
        answer = rpc.call_tool(http, fleet.mcp_url(server), tool, broken.arguments, mode=mode, token=TOKEN)
        result = tool_result(answer)
        text = "\n".join(block.get("text", "") for block in result["content"])
        assert result.get("isError") is True, (broken, text)
        assert text.startswith(f"Invalid arguments for {tool}: "), (broken, text)
        assert repr(broken.culprit) in text or f"{broken.culprit}:" in text, (broken, text)

    fuzz()


def test_a_huge_array_argument_is_refused_cheaply(fleet: Fleet, http: httpx.Client) -> None:
    # 100,000 parameters (the cap is 100) in a body under the 1 MiB limit: refused by the schema check.
    arguments = {"sql": "SELECT ?", "params": [0] * 100_000}
    answer = rpc.call_tool(http, fleet.mcp_url("database"), "execute_query", arguments, token=TOKEN)
    result = tool_result(answer)
    assert result["isError"] is True
    assert "params: 100000 items, at most 100 allowed" in rpc.tool_text(answer)
    # A value too long deep inside an argument: the message keeps what is wrong, not the whole value.
    arguments = {"sql": "SELECT ?", "params": ["x" * 20_000]}
    answer = rpc.call_tool(http, fleet.mcp_url("database"), "execute_query", arguments, token=TOKEN)
    assert tool_result(answer)["isError"] is True
    assert "params: ['xxx" in rpc.tool_text(answer) and "is not valid under any of the given schemas" in rpc.tool_text(
        answer
    )


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"d": value}
    return value


def test_deeply_nested_values_are_refused_or_stored_whole(fleet: Fleet, http: httpx.Client) -> None:
    url = fleet.mcp_url("custom")
    # Past the SDK's parser limit (about 200 levels) the whole request is a parse error, before any tool.
    too_deep = rpc.call_tool(http, url, "store_data", {"key": "fuzz/deeper", "value": nested(400)}, token=TOKEN)
    assert (too_deep.status, too_deep.error_code) == (400, rpc.PARSE_ERROR), too_deep.describe()
    # Within it, store_data takes any JSON value: stored and read back whole, or refused as a tool error.
    value = nested(100)
    stored = tool_result(rpc.call_tool(http, url, "store_data", {"key": "fuzz/deep", "value": value}, token=TOKEN))
    if not stored.get("isError"):
        read = tool_result(rpc.call_tool(http, url, "get_data", {"key": "fuzz/deep"}, token=TOKEN))
        assert read["structuredContent"]["value"] == value


@pytest.mark.parametrize(
    ("server", "tool", "arguments", "culprit"),
    [
        # Python's re reads "$" as "end, or before a final newline"; pydantic does not.
        ("kubernetes", "troubleshoot_pod", {"namespace": "agentic\n", "name": "api-5f7c9d8b4-x2v7q"}, "namespace"),
        ("custom", "get_data", {"key": "notes/a\n"}, "key"),
        # JSON Schema leaves keys outside patternProperties open; pydantic's dict keys are closed.
        ("aws", "start_glue_job", {"job_name": "etl", "arguments": {"nope": "x"}}, "arguments"),
        ("aws", "start_glue_job", {"job_name": "etl", "arguments": {"--input\n": "x"}}, "arguments"),
    ],
)
def test_where_json_schema_and_pydantic_disagree_the_guard_refuses(
    fleet: Fleet, http: httpx.Client, server: str, tool: str, arguments: dict[str, Any], culprit: str
) -> None:
    # Before the guard read schemas as the tools' pydantic models do, these reached the SDK and came back as
    # raw pydantic reports ("1 validation error for …").
    answer = rpc.call_tool(http, fleet.mcp_url(server), tool, arguments, token=TOKEN)
    assert tool_result(answer)["isError"] is True
    assert rpc.tool_text(answer).startswith(f"Invalid arguments for {tool}: {culprit}"), answer.describe()
