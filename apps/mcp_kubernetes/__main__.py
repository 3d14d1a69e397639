from apps.common.service import serve
from apps.mcp_kubernetes.server import create_app
from apps.mcp_kubernetes.settings import KubernetesSettings

serve("Kubernetes MCP server", create_app, KubernetesSettings)
