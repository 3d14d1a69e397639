"""The official MCP conformance suite (``@modelcontextprotocol/conformance``, pinned in
tools/mcp-conformance) against each of our servers, as a third party sees them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_kube import run_fake_kube
from tests.support.processes import RunningService, run_service

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT / "tools" / "mcp-conformance" / "node_modules" / ".bin" / "conformance"
SCENARIOS = ("server-initialize", "ping", "tools-list", "tools-call-error", "dns-rebinding-protection")
MODULES = ("apps.mcp_aws", "apps.mcp_database", "apps.mcp_custom", "apps.mcp_kubernetes")


@pytest.fixture(scope="module", params=MODULES)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("conformance")
    with run_fake_kube() as kube:
        env = {"AGENTIC_DATABASE_PATH": str(data / "sample.db"), "KUBECONFIG": str(kube.kubeconfig)}
        with run_service(request.param, env) as running:
            yield running


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_conformance_scenario(server: RunningService, scenario: str) -> None:
    assert CONFORMANCE.exists(), "run `make test` (it installs the conformance suite with npm ci)"
    completed = subprocess.run(
        [str(CONFORMANCE), "server", "--url", server.url + "/mcp", "--scenario", scenario],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert ", 0 failed" in output, output
