"""A stdio MCP server served over Streamable HTTP: ``python -m apps.mcp_bridge --command CMD -- ARGS…``.

Most MCP servers are stdio programs, which only the process that started them can talk to. In the
cluster each one runs in a pod of its own behind this bridge, so every agent-core replica reaches it
over HTTP like the platform's own servers, with the kit's bearer token, body limit, probes and metrics.
"""
