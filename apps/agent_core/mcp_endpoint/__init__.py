"""The agent core as an MCP server at ``/api/mcp``: the platform's tools, templates and runs for any MCP client.

- ``catalog.py``: what a caller is offered (by its key's roles) and under which names;
- ``calls.py``: a call as a run, waiting for it and for approvals, and the answer it makes;
- ``resources.py``: runs as ``run://<id>`` resources;
- ``endpoint.py``: the SDK server and the ASGI app, behind the API's keys.
"""

from apps.agent_core.mcp_endpoint.calls import CallLimits
from apps.agent_core.mcp_endpoint.endpoint import PATH, McpEndpoint

__all__ = ["PATH", "CallLimits", "McpEndpoint"]
