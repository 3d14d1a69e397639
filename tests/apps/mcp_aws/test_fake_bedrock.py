"""The fake Converse endpoint, checked with boto3 itself: if boto3 parses it, Bedrock callers can rely on it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

from tests.support.fake_bedrock import ConverseCall, FakeBedrock, Fault, Reply, ToolCall

MODEL = "amazon.nova-lite-v1:0"
TOOL_CONFIG: dict[str, Any] = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
            }
        }
    ]
}


@pytest.fixture
def runtime(fake_bedrock: FakeBedrock) -> BedrockRuntimeClient:
    # One attempt, so each request takes exactly one scripted step.
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("bedrock-runtime", region_name="us-west-2", config=config)


def user(text: str) -> Any:
    return {"role": "user", "content": [{"text": text}]}


def test_a_tool_use_turn_then_a_final_answer(runtime: BedrockRuntimeClient, fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.script(
        Reply.tool_use(ToolCall("get_weather", {"city": "Paris"}, tool_use_id="tooluse_1"), text="Checking."),
        Reply.text("It is sunny in Paris."),
    )
    messages: list[Any] = [user("Weather in Paris?")]
    first = runtime.converse(modelId=MODEL, messages=messages, toolConfig=TOOL_CONFIG)  # type: ignore[arg-type]
    assert first["stopReason"] == "tool_use"
    assistant = first["output"]["message"]
    assert assistant["content"][0] == {"text": "Checking."}
    assert assistant["content"][1]["toolUse"] == {
        "toolUseId": "tooluse_1",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    result = {"toolResult": {"toolUseId": "tooluse_1", "content": [{"json": {"sky": "clear"}}], "status": "success"}}
    messages += [assistant, {"role": "user", "content": [result]}]
    second = runtime.converse(modelId=MODEL, messages=messages, toolConfig=TOOL_CONFIG)  # type: ignore[arg-type]
    assert second["output"]["message"]["content"] == [{"text": "It is sunny in Paris."}]
    assert [call.tool_names for call in fake_bedrock.calls] == [["get_weather"], ["get_weather"]]
    assert fake_bedrock.calls[1].messages[2]["content"][0]["toolResult"]["content"] == [{"json": {"sky": "clear"}}]


def test_parallel_tool_uses_get_distinct_ids(runtime: BedrockRuntimeClient, fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.script(
        Reply.tool_use(ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Oslo"}))
    )
    response = runtime.converse(modelId=MODEL, messages=[user("Paris and Oslo?")], toolConfig=TOOL_CONFIG)  # type: ignore[arg-type]
    ids = [block["toolUse"]["toolUseId"] for block in response["output"]["message"]["content"]]
    assert len(set(ids)) == 2


def test_tool_history_without_tool_config_is_rejected_like_bedrock_does(
    runtime: BedrockRuntimeClient, fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.script(Reply.text("kept for the corrected request"))
    messages: list[Any] = [
        user("Weather?"),
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}}]},
    ]
    with pytest.raises(ClientError) as caught:
        runtime.converse(modelId=MODEL, messages=messages)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "toolConfig field must be defined" in caught.value.response["Error"]["Message"]
    assert fake_bedrock.pending == 1
    fixed = runtime.converse(modelId=MODEL, messages=messages, toolConfig=TOOL_CONFIG)  # type: ignore[arg-type]
    assert fixed["output"]["message"]["content"] == [{"text": "kept for the corrected request"}]


@pytest.mark.parametrize(
    ("messages", "tool_config", "expected"),
    [
        ([{"role": "assistant", "content": [{"text": "hi"}]}], None, "must start with a user message"),
        ([user("a"), user("b")], None, "must alternate between user and assistant"),
        (
            [
                user("Weather?"),
                {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}],
                },
                user("never mind"),
            ],
            TOOL_CONFIG,
            "Expected toolResult blocks at messages.2.content for the following Ids: t1",
        ),
        (
            [user("hi")],
            {"tools": [{"toolSpec": {"name": "weather.get", "description": "d", "inputSchema": {"json": {}}}}]},
            "failed to satisfy constraint",
        ),
    ],
)
def test_malformed_conversations_are_rejected(
    runtime: BedrockRuntimeClient, fake_bedrock: FakeBedrock, messages: list[Any], tool_config: Any, expected: str
) -> None:
    kwargs: dict[str, Any] = {"toolConfig": tool_config} if tool_config else {}
    with pytest.raises(ClientError, match=expected) as caught:
        runtime.converse(modelId=MODEL, messages=messages, **kwargs)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    fake_bedrock.strict = False
    assert runtime.converse(modelId=MODEL, messages=messages, **kwargs)["stopReason"] == "end_turn"


@pytest.mark.parametrize(
    "fault",
    [
        Fault.throttling(),
        Fault.validation(),
        Fault.internal(),
        Fault.access_denied(),
        Fault.not_found(),
        Fault.model_not_ready(),
        Fault.unavailable(),
    ],
)
def test_faults_surface_as_boto3_client_errors(
    runtime: BedrockRuntimeClient, fake_bedrock: FakeBedrock, fault: Fault
) -> None:
    fake_bedrock.script(fault)
    with pytest.raises(ClientError) as caught:
        runtime.converse(modelId=MODEL, messages=[user("hi")])
    error = caught.value.response
    assert error["Error"]["Code"] == fault.code
    assert error["Error"]["Message"] == fault.message
    assert error["ResponseMetadata"]["HTTPStatusCode"] == fault.status
    # boto3 raises the service's modelled exception class for each code
    assert type(caught.value).__name__ == fault.code


def test_the_default_echo_counts_words(runtime: BedrockRuntimeClient, fake_bedrock: FakeBedrock) -> None:
    response = runtime.converse(modelId=MODEL, messages=[user("one two three")], system=[{"text": "be brief"}])
    assert response["output"]["message"]["content"] == [{"text": "echo: one two three"}]
    assert response["usage"] == {"inputTokens": 5, "outputTokens": 4, "totalTokens": 9}
    assert response["metrics"]["latencyMs"] >= 0


def test_a_step_can_be_computed_from_the_request(runtime: BedrockRuntimeClient, fake_bedrock: FakeBedrock) -> None:
    def shout(call: ConverseCall) -> Reply:
        return Reply.text(call.last_user_text.upper())

    fake_bedrock.script(shout)
    response = runtime.converse(modelId=MODEL, messages=[user("quiet please")])
    assert response["output"]["message"]["content"] == [{"text": "QUIET PLEASE"}]
