"""Bedrock: one prompt to a model through the Converse API."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from apps.common.tools import ToolError
from apps.mcp_aws.errors import aws_errors

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_bedrock_runtime.type_defs import ConverseRequestTypeDef, InferenceConfigurationTypeDef

__all__ = [
    "MAX_MODEL_ID_CHARS",
    "MAX_PROMPT_CHARS",
    "MAX_SYSTEM_PROMPT_CHARS",
    "MODEL_ID_PATTERN",
    "BedrockInvocation",
    "TokenUsage",
    "converse",
    "validate_model_id",
]

MAX_PROMPT_CHARS = 100_000
MAX_SYSTEM_PROMPT_CHARS = 20_000
MAX_MODEL_ID_CHARS = 2048
# A model or inference-profile id ("anthropic.claude-3-haiku-20240307-v1:0",
# "us.amazon.nova-lite-v1:0") or a Bedrock ARN (foundation model, inference profile, provisioned
# throughput). Narrower than the service's own pattern on purpose: the id becomes a URL path
# segment, so nothing outside these characters is let through.
MODEL_ID_PATTERN = (
    r"^(arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]{1,20}:[0-9]{0,12}:[a-z-]{1,64}/[A-Za-z0-9._:/-]{1,1024}"
    r"|[A-Za-z0-9][A-Za-z0-9._:-]{0,255})$"
)
_MODEL_ID_RE = re.compile(MODEL_ID_PATTERN)


class TokenUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class BedrockInvocation(BaseModel):
    model_id: str
    text: str = Field(description="The model's reply: every text block, joined")
    stop_reason: str = Field(description="Why the model stopped, e.g. end_turn or max_tokens")
    usage: TokenUsage
    latency_ms: int = Field(description="Latency Bedrock reports for the call, in milliseconds")


def validate_model_id(model_id: str) -> str:
    """Return ``model_id`` if it looks like a Bedrock model id or ARN, else raise ``ToolError``."""
    if len(model_id) > MAX_MODEL_ID_CHARS or not _MODEL_ID_RE.fullmatch(model_id):
        raise ToolError(
            f"{model_id[:100]!r} is not a Bedrock model id or ARN. Use an id such as "
            "'anthropic.claude-3-haiku-20240307-v1:0', an inference profile id such as "
            "'us.amazon.nova-lite-v1:0', or a bedrock ARN."
        )
    return model_id


def converse(
    bedrock_runtime: BedrockRuntimeClient,
    *,
    prompt: str,
    model_id: str,
    system_prompt: str | None = None,
    max_tokens: int = 1024,
    temperature: float | None = None,
) -> BedrockInvocation:
    """Send ``prompt`` as a single user turn and return the model's text reply."""
    validate_model_id(model_id)
    if not prompt.strip():
        raise ToolError("The prompt is empty; send the text the model should answer.")
    inference: InferenceConfigurationTypeDef = {"maxTokens": max_tokens}
    if temperature is not None:
        inference["temperature"] = temperature
    request: ConverseRequestTypeDef = {
        "modelId": model_id,
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "inferenceConfig": inference,
    }
    # Bedrock rejects an empty system block, so an empty system prompt means none.
    if system_prompt and system_prompt.strip():
        request["system"] = [{"text": system_prompt}]
    started = time.monotonic()
    with aws_errors("bedrock:InvokeModel", resource=model_id):
        response = bedrock_runtime.converse(**request)
    measured_ms = round((time.monotonic() - started) * 1000)
    content = response.get("output", {}).get("message", {}).get("content", [])
    usage = response.get("usage", {})
    input_tokens = usage.get("inputTokens", 0)
    output_tokens = usage.get("outputTokens", 0)
    return BedrockInvocation(
        model_id=model_id,
        text="\n".join(block["text"] for block in content if "text" in block),
        stop_reason=response.get("stopReason", "unknown"),
        usage=TokenUsage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=usage.get("totalTokens", input_tokens + output_tokens),
        ),
        latency_ms=response.get("metrics", {}).get("latencyMs", measured_ms),
    )
