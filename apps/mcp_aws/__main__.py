from apps.common.service import serve
from apps.mcp_aws.server import create_app
from apps.mcp_aws.settings import AwsSettings

serve("AWS MCP server", create_app, AwsSettings)
