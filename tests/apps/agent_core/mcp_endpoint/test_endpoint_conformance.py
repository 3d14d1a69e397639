"""The official MCP conformance suite (``@modelcontextprotocol/conformance``, pinned in tools/mcp-conformance): its
server scenarios that apply to ``/api/mcp``, run against a real agent core on 127.0.0.1.

Most of the suite's server scenarios call fixtures of its reference server by name (``test_simple_text``,
``test://static-text``, ``test_prompt_with_arguments``…); an endpoint that is not that server can only fail them,
so each is listed in ``NOT_APPLICABLE`` with the reason. Every server scenario of the pinned suite is in one list
or the other, so a new one in a version bump is looked at, not silently skipped.

The suite sends no Authorization header (``conformance server`` has no option for one): the core runs in local
mode, without API keys, where every caller is the local principal. The keys themselves are tested with real
clients in test_external_clients.py and test_python_client.py.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from apps.mcp_database.server import create_app as database_app
from apps.mcp_database.settings import DatabaseSettings
from tests.support.agent_core import run_agent_core
from tests.support.conformance import CONFORMANCE, INSTALL_HINT, ROOT, Check
from tests.support.lab_server import run_lab_server
from tests.support.servers import serve_in_thread

APPLICABLE = ("server-initialize", "ping", "tools-list", "resources-list", "dns-rebinding-protection")
"""Scenarios that check the protocol itself (handshake, ping, listings' structure, Host/Origin checks)."""
BY_CAPABILITY = {"logging-set-level": "logging", "prompts-list": "prompts"}
"""Scenarios that apply once the endpoint declares the capability (and are skipped, saying so, until then)."""
_FIXTURE = "calls its reference server's fixture"
NOT_APPLICABLE = {
    "completion-complete": f"{_FIXTURE} prompt test_prompt_with_arguments; the endpoint offers no completions",
    "tools-call-simple-text": f"{_FIXTURE} tool test_simple_text",
    "tools-call-image": f"{_FIXTURE} tool test_image_content",
    "tools-call-audio": f"{_FIXTURE} tool test_audio_content",
    "tools-call-embedded-resource": f"{_FIXTURE} tool test_embedded_resource",
    "tools-call-mixed-content": f"{_FIXTURE} tool test_multiple_content_types",
    "tools-call-with-logging": f"{_FIXTURE} tool test_tool_with_logging",
    "tools-call-error": (
        f"{_FIXTURE} tool test_error_handling; an unknown tool is the spec's -32602 protocol error here (a failing "
        "tool's isError result is tested with the lab server's always_fails)"
    ),
    "tools-call-with-progress": f"{_FIXTURE} tool test_tool_with_progress",
    "tools-call-sampling": f"{_FIXTURE} tool test_sampling; the endpoint never asks the client's model",
    "tools-call-elicitation": f"{_FIXTURE} tool test_elicitation",
    "json-schema-2020-12": f"{_FIXTURE} tool json_schema_2020_12_tool",
    "elicitation-sep1034-defaults": f"{_FIXTURE} tool test_elicitation_sep1034_defaults",
    "elicitation-sep1330-enums": f"{_FIXTURE} tool test_elicitation_sep1330_enums",
    "server-sse-polling": f"{_FIXTURE} tool test_reconnection, over a session; the endpoint is stateless",
    "server-sse-multiple-streams": "needs a session id to open streams on; the endpoint is stateless",
    "resources-read-text": f"{_FIXTURE} resource test://static-text",
    "resources-read-binary": f"{_FIXTURE} resource test://static-binary",
    "resources-templates-read": f"{_FIXTURE} template test://template/{{id}}/data",
    "resources-subscribe": "the endpoint declares no resource subscriptions (test://watched-resource is a fixture)",
    "resources-unsubscribe": "the endpoint declares no resource subscriptions (test://watched-resource is a fixture)",
    "prompts-get-simple": f"{_FIXTURE} prompt test_simple_prompt",
    "prompts-get-with-args": f"{_FIXTURE} prompt test_prompt_with_arguments",
    "prompts-get-embedded-resource": f"{_FIXTURE} prompt test_prompt_with_embedded_resource",
    "prompts-get-with-image": f"{_FIXTURE} prompt test_prompt_with_image",
}
SUITE_SECONDS = 120.0
"""Bounds a hung run; one scenario takes about a second (node start-up, a handshake, a request or two)."""
_CHECKS = TypeAdapter(list[Check])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``/api/mcp`` of a keyless core in front of the lab and database servers (so the listing has templates)."""
    assert CONFORMANCE.exists(), INSTALL_HINT
    database_path = tmp_path_factory.mktemp("database") / "sample.db"
    with (
        run_lab_server() as (lab_url, _),
        serve_in_thread(database_app(DatabaseSettings(database_path=database_path, query_workers=1))) as database,
        run_agent_core(
            {"lab": lab_url, "database": database + "/mcp"}, tmp_path_factory.mktemp("mcp-endpoint-conformance")
        ) as core,
    ):
        yield core.url + "/api/mcp"


@pytest.fixture(scope="module")
def capabilities(endpoint: str) -> dict[str, Any]:
    """What the endpoint declares in its handshake."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
    }
    response = httpx.post(endpoint, json=body, headers={"Accept": "application/json, text/event-stream"}, timeout=30)
    assert response.status_code == 200, response.text
    # One JSON body, or one SSE event whose data line holds it.
    data = next((line[5:] for line in response.text.splitlines() if line.startswith("data:")), response.text)
    return dict(json.loads(data)["result"]["capabilities"])


def _run_scenario(endpoint: str, scenario: str, output_dir: Path) -> list[Check]:
    completed = subprocess.run(
        [str(CONFORMANCE), "server", "--url", endpoint, "--scenario", scenario, "--output-dir", str(output_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SUITE_SECONDS,
        check=False,
    )
    output = completed.stdout + completed.stderr
    written = sorted(output_dir.rglob("checks.json"))
    assert len(written) == 1, f"expected one checks.json under {output_dir}, found {len(written)}:\n{output}"
    checks = _CHECKS.validate_json(written[0].read_bytes())
    verdicts = [check for check in checks if check.status != "INFO"]
    assert verdicts, output
    assert all(check.status == "SUCCESS" for check in verdicts), "\n".join(check.describe() for check in verdicts)
    assert completed.returncode == 0, output
    return verdicts


@pytest.mark.parametrize("scenario", APPLICABLE)
def test_applicable_scenario(endpoint: str, scenario: str, tmp_path: Path) -> None:
    _run_scenario(endpoint, scenario, tmp_path)


@pytest.mark.parametrize("scenario", sorted(BY_CAPABILITY))
def test_scenario_of_a_declared_capability(
    endpoint: str, capabilities: dict[str, Any], scenario: str, tmp_path: Path
) -> None:
    capability = BY_CAPABILITY[scenario]
    if capability not in capabilities:
        pytest.skip(f"the endpoint declares no {capability!r} capability (it declares {sorted(capabilities)})")
    _run_scenario(endpoint, scenario, tmp_path)


def test_the_endpoint_declares_no_subscriptions(capabilities: dict[str, Any]) -> None:
    """``resources-subscribe`` is listed as not applicable because of this: if it changes, so must the lists."""
    assert not capabilities["resources"].get("subscribe")


def test_every_server_scenario_is_classified() -> None:
    listed = subprocess.run(
        [str(CONFORMANCE), "list"], cwd=ROOT, capture_output=True, text=True, timeout=SUITE_SECONDS, check=True
    ).stdout
    server_part = listed.partition("Server scenarios")[2].partition("Client scenarios")[0]
    scenarios = {line.strip()[2:] for line in server_part.splitlines() if line.strip().startswith("- ")}
    classified = [*APPLICABLE, *BY_CAPABILITY, *NOT_APPLICABLE]
    assert len(classified) == len(set(classified)), "a scenario is in two lists"
    assert scenarios == set(classified)
