"""Capability statuses through the agent core: a tool its server cannot run is shown, never offered, and refused
before anyone is asked to approve it; a server that says nothing (the lab server) has every tool available.

Real processes on 127.0.0.1: the Kubernetes MCP server over the fake Kubernetes API with scaling left disabled
(``AGENTIC_SCALABLE_NAMESPACES`` empty), the lab server, and the agent core (offline, and on a fake model).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.server import create_app as create_kubernetes_app
from apps.mcp_kubernetes.settings import KubernetesSettings
from tests.support.agent_core import TERMINAL, CoreClient, run_agent_core
from tests.support.fake_kube import run_fake_kube
from tests.support.fake_openai import FakeOpenAI, Reply, run_fake_openai
from tests.support.lab_server import run_lab_server
from tests.support.servers import serve_in_thread

SETTING = "AGENTIC_SCALABLE_NAMESPACES"
SCALE = {"namespace": "k8s-admin", "name": "web", "replicas": 2}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    with (
        run_fake_kube() as kube,
        ClusterAccess.from_kubeconfig(kube.kubeconfig) as access,
        serve_in_thread(create_kubernetes_app(KubernetesSettings(), access=access)) as kubernetes,
        run_lab_server() as (lab, _),
    ):
        yield {"kubernetes": kubernetes + "/mcp", "lab": lab}


@pytest.fixture(scope="module")
def core(servers: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreClient]:
    with run_agent_core(servers, tmp_path_factory.mktemp("capabilities")) as client:
        yield client


def test_api_tools_shows_the_unavailable_tool_with_its_reason_and_setting(core: CoreClient) -> None:
    listed = core.http.get("/api/tools").json()

    tools = {(tool["server"], tool["name"]): tool for tool in listed["tools"]}
    scale = tools[("kubernetes", "scale_deployment")]
    assert (scale["available"], scale["setting"]) == (False, SETTING)
    assert scale["unavailable_reason"] == "no namespace may be scaled"
    assert tools[("kubernetes", "list_pods")]["available"] is True
    assert all(tool["available"] for (server, _), tool in tools.items() if server == "lab"), "no _meta: all available"
    servers = {server["server"]: server for server in listed["servers"]}
    capabilities = {entry["name"]: entry for entry in servers["kubernetes"]["capabilities"]}
    assert capabilities["scaling"]["ok"] is False and capabilities["scaling"]["setting"] == SETTING
    assert capabilities["kubernetes cluster"]["ok"] is True
    assert servers["lab"]["capabilities"] == []


def test_health_shows_the_capabilities_and_stays_ok(core: CoreClient) -> None:
    health = core.http.get("/api/health").json()

    assert health["status"] == "ok", "a disabled capability is not a degraded platform"
    kubernetes = next(server for server in health["servers"] if server["server"] == "kubernetes")
    assert {entry["name"]: entry["ok"] for entry in kubernetes["capabilities"]} == {
        "kubernetes cluster": True,
        "scaling": False,
    }
    assert health["local_model"] is None, "a reasoner was configured (offline): there is nothing to look for"
    assert core.http.get("/ready").status_code == 200


def test_a_workflow_naming_the_unavailable_tool_is_refused_naming_the_setting(core: CoreClient) -> None:
    workflow = {"name": "scale", "steps": [{"id": "scale", "tool": "kubernetes.scale_deployment", "arguments": SCALE}]}

    response = core.http.post("/api/runs", json={"workflow": workflow})

    assert response.status_code == 400, response.text
    assert SETTING in response.text and "scale_deployment" in response.text


def test_a_step_that_handles_its_failure_fails_at_run_time_without_an_approval(core: CoreClient) -> None:
    workflow = {
        "name": "scale_or_carry_on",
        "steps": [
            {"id": "scale", "tool": "kubernetes.scale_deployment", "arguments": SCALE, "on_error": "continue"},
            {"id": "after", "tool": "lab.echo", "arguments": {"text": "still here"}},
        ],
    }

    run = core.wait_for(core.start({"workflow": workflow}), TERMINAL)

    steps = {step["id"]: step for step in run["steps"]}
    assert steps["scale"]["status"] == "failed"
    assert SETTING in steps["scale"]["error"]
    assert run["approvals"] == [], "no one was asked to approve a call that cannot run"
    assert steps["after"]["status"] == "succeeded"


def test_a_task_needing_the_unavailable_tool_fails_saying_what_to_change(
    servers: dict[str, str], tmp_path: Path
) -> None:
    """Not planned (so no approval), and not swapped for a lesser plan: the answer says what to change.
    (Without the lab server, whose own ``scale`` tool would match the task.)"""
    with run_agent_core({"kubernetes": servers["kubernetes"]}, tmp_path) as core:
        run = core.wait_for(core.start({"task": "Scale deployment web in namespace k8s-admin to 2 replicas"}), TERMINAL)

    assert (run["status"], run["approvals"], run["steps"]) == ("failed", [], [])
    assert SETTING in run["error"] and "kubernetes.scale_deployment" in run["error"]
    assert SETTING in run["final_answer"]


def test_the_model_is_not_offered_the_unavailable_tool(servers: dict[str, str], tmp_path: Path) -> None:
    with run_fake_openai() as model:
        model.script(Reply.text("Scaling is not possible here."))
        settings = {"reasoner": "openai", "openai_base_url": model.base_url, "openai_model": "llama3.2:1b"}
        with run_agent_core(servers, tmp_path, **settings) as core:
            run = core.wait_for(core.start({"task": "Scale web to 2 replicas"}), TERMINAL)
        offered = _offered(model)

    assert run["status"] == "succeeded", run["error"]
    assert "kubernetes__list_pods" in offered and "lab__echo" in offered
    assert "kubernetes__scale_deployment" not in offered


def _offered(model: FakeOpenAI) -> list[str]:
    (call,) = model.calls
    return call.tool_names
