"""``health`` and ``tools`` show what a server's tools need and what to change, and a local model found after start.

Against a real agent core (AGENTIC_REASONER=auto, nothing configured) over the Kubernetes MCP server without a
cluster, and an OpenAI-compatible stand-in on a loopback port that lists no model at the agent core's start and
one later: the agent core started offline, and health's fresh probe reports the model now there.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.server import create_app as create_kubernetes_app
from apps.mcp_kubernetes.settings import KubernetesSettings
from tests.apps.cli.conftest import run_cli
from tests.support.agent_core import run_agent_core
from tests.support.fake_openai import run_fake_openai
from tests.support.servers import serve_in_thread


def test_health_and_tools_show_capabilities_and_the_local_model_found_since(tmp_path: Path) -> None:
    no_cluster = create_kubernetes_app(KubernetesSettings(), access=ClusterAccess.not_configured())
    with run_fake_openai() as model, serve_in_thread(no_cluster) as kubernetes:
        model.listed_models = ()  # a model server with nothing pulled yet: not a model to use
        port = urlsplit(model.base_url).port
        settings = {"reasoner": "auto", "local_model_ports": (port,)}
        with run_agent_core({"kubernetes": kubernetes + "/mcp"}, tmp_path, **settings) as core:
            model.listed_models = ("llama3.2:1b",)  # pulled after the agent core started
            health = run_cli("health", url=core.url)
            report = json.loads(run_cli("--json", "health", url=core.url).stdout)
            tools = run_cli("tools", url=core.url)

    assert health.returncode == 0, "a missing kubeconfig is shown, not a degraded platform: " + health.stdout
    assert "reasoner  offline" in health.stdout
    [cluster] = [line for line in health.stdout.splitlines() if "kubernetes cluster:" in line]
    assert cluster.strip().startswith("✗") and "not configured" in cluster and "set KUBECONFIG" in cluster
    [scaling] = [line for line in health.stdout.splitlines() if "scaling:" in line]
    assert "set AGENTIC_SCALABLE_NAMESPACES" in scaling
    [local] = [line for line in health.stdout.splitlines() if line.startswith("local ")]
    assert "llama3.2:1b" in local and f"127.0.0.1:{port}" in local and "restart" in local
    assert report["local_model"]["detected"]["model"] == "llama3.2:1b"

    assert tools.returncode == 0, tools.stderr
    marks = {line.split()[0]: line for line in tools.stdout.splitlines()[1:]}
    assert set(marks) == {"list_pods", "get_cluster_status", "troubleshoot_pod", "scale_deployment"}
    for line in marks.values():
        assert line.split()[1] == "unavailable" and "set KUBECONFIG" in line, line
