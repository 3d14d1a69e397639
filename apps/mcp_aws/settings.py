"""Configuration of the AWS MCP server (``AGENTIC_*`` variables, plus boto3's own ``AWS_*``)."""

from __future__ import annotations

from pydantic import Field, field_validator

from apps.common.settings import McpServerSettings
from apps.common.tools import ToolError
from apps.mcp_aws.bedrock import validate_model_id


class AwsSettings(McpServerSettings):
    bedrock_model_id: str | None = None
    """The model or inference-profile id (or ARN) used when a call names none. No built-in default: models reach
    end of life on Bedrock (Claude 3.5 Haiku did on 2026-06-19), so a call must name one unless this is set."""
    bedrock_max_tokens: int = Field(default=4096, ge=1, le=65_536)
    """The most output tokens one call may ask for."""
    aws_default_region: str = Field(default="us-west-2", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    """Used only when neither AWS_REGION, AWS_DEFAULT_REGION nor the profile names a region."""

    @field_validator("bedrock_model_id")
    @classmethod
    def _model_id_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_model_id(value)
        except ToolError as exc:
            raise ValueError(str(exc)) from None
