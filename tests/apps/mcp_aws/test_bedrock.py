from __future__ import annotations

import pytest

from apps.common.tools import ToolDef, ToolError
from apps.mcp_aws.bedrock import BedrockInvocation
from apps.mcp_aws.clients import AwsClients
from apps.mcp_aws.tools import build_tools
from tests.apps.mcp_aws.conftest import DEFAULT_MODEL_ID
from tests.support.fake_bedrock import FakeBedrock, Fault, Reply, ToolCall

PROFILE_ARN = "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"


def invoke(tools: dict[str, ToolDef], **kwargs: object) -> BedrockInvocation:
    result = tools["invoke_bedrock_model"].fn(**kwargs)
    assert isinstance(result, BedrockInvocation)
    return result


def test_text_reply_usage_and_request(tools: dict[str, ToolDef], fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.script(Reply.text("Paris.", input_tokens=12, output_tokens=3, latency_ms=321))
    result = invoke(
        tools,
        prompt="What is the capital of France?",
        system_prompt="Answer in one word.",
        max_tokens=256,
        temperature=0.2,
    )
    assert result.text == "Paris."
    assert result.stop_reason == "end_turn"
    assert result.model_id == DEFAULT_MODEL_ID
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total_tokens) == (12, 3, 15)
    assert result.latency_ms == 321
    [call] = fake_bedrock.calls
    assert call.model_id == DEFAULT_MODEL_ID
    assert call.messages == [{"role": "user", "content": [{"text": "What is the capital of France?"}]}]
    assert call.system == [{"text": "Answer in one word."}]
    assert call.inference_config == {"maxTokens": 256, "temperature": 0.2}
    assert call.tool_config is None


def test_optional_parameters_are_left_out(tools: dict[str, ToolDef], fake_bedrock: FakeBedrock) -> None:
    result = invoke(tools, prompt="hello there", system_prompt="   ")
    assert result.text == "echo: hello there"
    [call] = fake_bedrock.calls
    assert "system" not in call.body
    assert call.inference_config == {"maxTokens": 1024}


def test_every_text_block_is_returned_and_other_blocks_skipped(
    tools: dict[str, ToolDef], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.script(
        Reply(content=({"text": "First part."}, {"text": "Second part."}), stop_reason="max_tokens"),
        Reply.tool_use(ToolCall("lookup", {"q": "x"}), text="Let me look."),
    )
    cut = invoke(tools, prompt="Write two parts")
    assert cut.text == "First part.\nSecond part."
    assert cut.stop_reason == "max_tokens"
    asked = invoke(tools, prompt="Use a tool")
    assert asked.text == "Let me look."
    assert asked.stop_reason == "tool_use"


def test_a_model_arn_reaches_bedrock_url_encoded(tools: dict[str, ToolDef], fake_bedrock: FakeBedrock) -> None:
    assert invoke(tools, prompt="hi", model_id=PROFILE_ARN).model_id == PROFILE_ARN
    [call] = fake_bedrock.calls
    assert call.model_id == PROFILE_ARN
    assert "%2F" in call.raw_path
    assert "%3A" in call.raw_path


@pytest.mark.parametrize("model_id", ["../../model/x", "anthropic claude", "arn:aws:s3:::bucket/key", "m" * 300])
def test_malformed_model_ids_are_refused_before_any_call(
    tools: dict[str, ToolDef], fake_bedrock: FakeBedrock, model_id: str
) -> None:
    with pytest.raises(ToolError, match="is not a Bedrock model id or ARN"):
        invoke(tools, prompt="hi", model_id=model_id)
    assert fake_bedrock.calls == []


def test_max_tokens_above_the_cap_is_refused(tools: dict[str, ToolDef], fake_bedrock: FakeBedrock) -> None:
    with pytest.raises(ToolError, match="at most 4096"):
        invoke(tools, prompt="hi", max_tokens=4097)
    assert fake_bedrock.calls == []


def test_throttling_is_retried_then_reported(tools: dict[str, ToolDef], fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.script(*[Fault.throttling()] * 3)
    with pytest.raises(ToolError, match=r"throttling bedrock:InvokeModel .* Wait before trying again"):
        invoke(tools, prompt="hi")
    assert len(fake_bedrock.calls) == 3  # botocore's standard mode: three attempts in all
    assert fake_bedrock.pending == 0


def test_a_single_throttle_is_absorbed_by_retries(tools: dict[str, ToolDef], fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.script(Fault.throttling(), Reply.text("Recovered."))
    assert invoke(tools, prompt="hi").text == "Recovered."
    assert len(fake_bedrock.calls) == 2


def test_validation_errors_carry_bedrocks_message(tools: dict[str, ToolDef], fake_bedrock: FakeBedrock) -> None:
    fake_bedrock.script(Fault.validation("The provided model identifier is invalid."))
    with pytest.raises(ToolError) as caught:
        invoke(tools, prompt="hi", model_id="anthropic.claude-nonexistent-v9:0")
    message = str(caught.value)
    assert "The provided model identifier is invalid." in message
    assert "model id" in message
    assert len(fake_bedrock.calls) == 1  # client errors are not retried


@pytest.mark.parametrize(
    ("fault", "expected", "attempts"),
    [
        (Fault.access_denied(), "not allowed to perform bedrock:InvokeModel on anthropic.", 1),
        (Fault.not_found(), "could not find the resource", 1),
        (Fault.model_not_ready(), "not ready", 3),  # modelled as retryable
        (Fault.internal(), "temporary problem", 3),
        (Fault.unavailable(), "temporary problem", 3),
    ],
)
def test_other_bedrock_faults(
    tools: dict[str, ToolDef], fake_bedrock: FakeBedrock, fault: Fault, expected: str, attempts: int
) -> None:
    fake_bedrock.script(*[fault] * attempts)
    with pytest.raises(ToolError, match=expected):
        invoke(tools, prompt="hi")
    assert len(fake_bedrock.calls) == attempts


def test_missing_credentials_stop_the_call_before_it_is_sent(no_credentials: None, fake_bedrock: FakeBedrock) -> None:
    clients = AwsClients.create("us-east-1")
    [tool] = [
        t
        for t in build_tools(clients, default_model_id=DEFAULT_MODEL_ID, max_tokens_cap=10)
        if t.tool_name == "invoke_bedrock_model"
    ]
    with pytest.raises(ToolError, match="No AWS credentials are configured"):
        tool.fn(prompt="hi")
    assert fake_bedrock.calls == []
