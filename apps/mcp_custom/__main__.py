from apps.common.service import serve
from apps.mcp_custom.server import create_app
from apps.mcp_custom.settings import CustomSettings

serve("custom MCP server", create_app, CustomSettings)
