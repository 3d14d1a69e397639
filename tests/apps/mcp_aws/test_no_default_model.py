"""No model is built in: models reach end of life on Bedrock, so the default is configuration or nothing."""

from __future__ import annotations

import pytest

from apps.common.tools import ToolError
from apps.mcp_aws.bedrock import BedrockInvocation
from apps.mcp_aws.clients import AwsClients
from apps.mcp_aws.settings import AwsSettings
from apps.mcp_aws.tools import build_tools
from tests.apps.mcp_aws.test_tools import listed
from tests.support.fake_bedrock import FakeBedrock

PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_the_settings_carry_no_model_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTIC_BEDROCK_MODEL_ID", raising=False)
    assert AwsSettings().bedrock_model_id is None
    monkeypatch.setenv("AGENTIC_BEDROCK_MODEL_ID", PROFILE)
    assert AwsSettings().bedrock_model_id == PROFILE


def test_without_a_default_a_call_must_name_its_model(clients: AwsClients, fake_bedrock: FakeBedrock) -> None:
    tools = {t.tool_name: t for t in build_tools(clients, default_model_id=None, max_tokens_cap=256)}
    description = listed(tools)["invoke_bedrock_model"].input_schema["properties"]["model_id"]["description"]
    assert "required" in description and "None" not in description
    with pytest.raises(ToolError, match="AGENTIC_BEDROCK_MODEL_ID"):
        tools["invoke_bedrock_model"].fn(prompt="hi")
    assert fake_bedrock.calls == []  # refused before anything was sent

    result = tools["invoke_bedrock_model"].fn(prompt="hi", model_id=PROFILE)
    assert isinstance(result, BedrockInvocation) and result.model_id == PROFILE
    assert [call.model_id for call in fake_bedrock.calls] == [PROFILE]
