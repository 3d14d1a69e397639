"""The AWS MCP server: S3, Bedrock (Converse) and Glue through one set of boto3 clients."""

from __future__ import annotations

from starlette.applications import Starlette

from apps.common.mcp_app import McpServerSpec, create_mcp_app
from apps.mcp_aws.capabilities import AwsCapabilities
from apps.mcp_aws.clients import AwsClients
from apps.mcp_aws.settings import AwsSettings
from apps.mcp_aws.tools import build_tools

SERVICE_NAME = "aws-mcp-service"


def create_app(settings: AwsSettings) -> Starlette:
    clients = AwsClients.create(settings.aws_default_region)
    tools = build_tools(clients, default_model_id=settings.bedrock_model_id, max_tokens_cap=settings.bedrock_max_tokens)
    spec = McpServerSpec(
        name="aws",
        service=SERVICE_NAME,
        version="1.0.0",
        instructions="Amazon S3 buckets, Bedrock model invocation (Converse) and AWS Glue jobs in one account.",
        tools=tools,
        # No readiness check calls AWS: an AWS outage or missing credentials must not take the server
        # out of its Service; each tool answers with a clear message instead, which a model can act on.
        # Missing credentials are a capability status instead: shown, and the tools not offered.
        capabilities=AwsCapabilities(clients, tools=[tool.tool_name for tool in tools]),
    )
    return create_mcp_app(spec, settings)
