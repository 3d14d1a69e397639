"""How the agent core reaches tools: ``McpGateway`` over every configured MCP server (see ``gateway.py``)."""

from apps.agent_core.gateway.breaker import CircuitBreaker
from apps.agent_core.gateway.config import parse_mcp_servers
from apps.agent_core.gateway.errors import (
    CallTimedOut,
    CircuitOpen,
    McpServerError,
    ProtocolMismatch,
    ServerRejected,
    ServerUnavailable,
)
from apps.agent_core.gateway.gateway import McpGateway
from apps.agent_core.gateway.mcp_server_client import McpServerClient
from apps.agent_core.gateway.retry import CallRetryPolicy

__all__ = [
    "CallRetryPolicy",
    "CallTimedOut",
    "CircuitBreaker",
    "CircuitOpen",
    "McpGateway",
    "McpServerClient",
    "McpServerError",
    "ProtocolMismatch",
    "ServerRejected",
    "ServerUnavailable",
    "parse_mcp_servers",
]
