from apps.common.service import serve
from apps.mcp_database.server import create_app
from apps.mcp_database.settings import DatabaseSettings

serve("database MCP server", create_app, DatabaseSettings)
