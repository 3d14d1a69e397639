"""The Health and Tools pages in Chromium: a server's capability that is not there, with the setting to change.

An agent core of its own (serving the dashboard) over the Kubernetes MCP server without a cluster, so the statuses
are known whatever the machine has configured; the session's browser is reused.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.server import create_app as create_kubernetes_app
from apps.mcp_kubernetes.settings import KubernetesSettings
from tests.e2e.conftest import ROOT, Dashboard, open_dashboard
from tests.support.agent_core import run_agent_core
from tests.support.servers import serve_in_thread


@pytest.fixture(scope="module")
def core_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    no_cluster = create_kubernetes_app(KubernetesSettings(), access=ClusterAccess.not_configured())
    state = tmp_path_factory.mktemp("capabilities-page")
    with (
        serve_in_thread(no_cluster) as kubernetes,
        run_agent_core(
            {"kubernetes": kubernetes + "/mcp"},
            state,
            dashboard_dir=ROOT / "dashboard",
            # Nothing configured and no port to look at: the offline planner, and a local model card saying so.
            reasoner="auto",
            local_model_ports=(),
        ) as core,
    ):
        yield core.url


@pytest.fixture
def page_on_core(browser: Browser, core_url: str) -> Iterator[Dashboard]:
    yield from open_dashboard(browser, core_url)


def test_health_shows_a_missing_capability_with_its_setting(page_on_core: Dashboard) -> None:
    page = page_on_core.page
    page_on_core.open("/health")

    card = page.locator('[data-service="kubernetes"]')
    expect(card.locator(".badge")).to_have_text("up")  # the server answers: only its tools lack a cluster
    cluster = card.locator('[data-capability="kubernetes cluster"]')
    expect(cluster).to_have_attribute("data-ok", "false")
    expect(cluster).to_contain_text("not ok")
    expect(cluster).to_contain_text("not configured")
    expect(cluster.locator("code")).to_have_text("KUBECONFIG")
    expect(card.locator('[data-capability="scaling"] code')).to_have_text("AGENTIC_SCALABLE_NAMESPACES")
    expect(page.locator("#health-capabilities-note")).to_contain_text("Some tools of kubernetes cannot run")
    expect(page.locator("#health-local-model")).to_contain_text("none found")
    expect(page.locator("#health-local-model")).to_contain_text("AGENTIC_LOCAL_MODEL_PORTS is empty")
    page_on_core.screenshot("capabilities-health")


def test_tools_marks_an_unavailable_tool_and_offers_no_form(page_on_core: Dashboard) -> None:
    page = page_on_core.page
    page_on_core.open("/tools")

    scale = page.locator('[data-tool="kubernetes.scale_deployment"]')
    expect(scale.locator(".badge")).to_have_text("unavailable")
    expect(scale).to_contain_text("To enable it, set KUBECONFIG.")
    expect(scale.locator("details.try")).to_have_count(0)
